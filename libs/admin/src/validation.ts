import { StandardSchemaValidationPipe } from '@nestjs/common';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { GatewayError } from '#libs/protocol';

/**
 * Validates every `@Body({ schema })`, `@Query({ schema })` and `@Param({ schema })` of the admin
 * API and answers a failure with `INVALID_MESSAGE` naming the first faulty field.
 */
export function adminValidationPipe(): StandardSchemaValidationPipe {
  return new StandardSchemaValidationPipe({ exceptionFactory: (issues) => new GatewayError('INVALID_MESSAGE', describeIssue(issues[0])) });
}

function describeIssue(issue: StandardSchemaV1.Issue | undefined): string {
  if (!issue) return 'invalid request';
  const path = (issue.path ?? [])
    .map((segment) => (typeof segment === 'object' ? segment.key : segment))
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i > 0 ? '.' : ''}${String(key)}`))
    .join('');
  const message = issue.message.replace(/^Invalid input: /, '');
  if (/received undefined$/.test(message) && path) return `${path}: is required`;
  return path ? `${path}: ${message}` : message;
}
