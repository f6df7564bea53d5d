import { Injectable } from '@nestjs/common';

/** Whether this node still takes new work; set when SIGTERM starts the drain. */
@Injectable()
export class ReadinessState {
  draining = false;
}
