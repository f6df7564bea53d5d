import type { Socket } from 'socket.io';

/**
 * Measures the size of each incoming socket.io event as it came off the wire. engine.io emits
 * `packet` for the raw frame, and socket.io then decodes and calls `onAny` listeners synchronously,
 * so the last measured frame is the one being handled. Binary attachments (which arrive as extra
 * frames after the event's header) are added up and flagged.
 */
export class FrameMeter {
  private bytes = 0;
  private binary = false;

  constructor(socket: Socket) {
    socket.conn.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type !== 'message') return;
      if (typeof packet.data === 'string') {
        this.bytes = Buffer.byteLength(packet.data);
        this.binary = false;
      } else if (packet.data && typeof (packet.data as ArrayBufferLike).byteLength === 'number') {
        this.bytes += (packet.data as ArrayBufferLike).byteLength;
        this.binary = true;
      }
    });
  }

  /** The size of the event being handled, and whether it carried binary attachments. */
  take(): { bytes: number; binary: boolean } {
    const frame = { bytes: this.bytes, binary: this.binary };
    this.bytes = 0;
    this.binary = false;
    return frame;
  }
}
