import { Role, TaskState, type Message, type Part, type Task } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import type { MessageEvent } from '#libs/protocol';
import { isSettled, toResult, toSendMessageRequest } from './a2a-message.mapping.js';

const text = (value: string): Part => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const data = (value: unknown): Part => ({
  content: { $case: 'data', value },
  metadata: undefined,
  filename: '',
  mediaType: 'application/json',
});
const message = (parts: Part[]): Message => ({
  messageId: 'm-1',
  contextId: 'c-1',
  taskId: '',
  role: Role.ROLE_AGENT,
  parts,
  metadata: undefined,
  extensions: [],
  referenceTaskIds: [],
});
const task = (state: TaskState, artifacts: Part[][] = [], said?: string): Task => ({
  id: 't-1',
  contextId: 'c-1',
  status: { state, message: said ? message([text(said)]) : undefined, timestamp: undefined },
  artifacts: artifacts.map((parts, i) => ({ artifactId: `a${i}`, name: '', description: '', parts, metadata: undefined, extensions: [] })),
  history: [],
  metadata: undefined,
});

describe('gateway message → A2A SendMessage', () => {
  it('maps text and data parts, uses the conversation id as context id, and names the sender in metadata', () => {
    const event: MessageEvent = {
      message_id: 'msg-1',
      from_agent_id: 'planner',
      to_agent_id: 'remote',
      conversation_id: 'conv-1',
      content: [
        { type: 'text', text: 'hi' },
        { type: 'data', data: { n: 1 } },
      ],
      metadata: { trace: 'x' },
      timestamp: '2026-01-01T00:00:00.000Z',
      expect_result: true,
    };
    const request = toSendMessageRequest(event);
    expect(request.message).toMatchObject({ messageId: 'msg-1', contextId: 'conv-1', role: Role.ROLE_USER });
    expect(request.message?.parts).toEqual([text('hi'), data({ n: 1 })]);
    expect(request.message?.metadata).toEqual({
      trace: 'x',
      agent_gateway: { from_agent_id: 'planner', conversation_id: 'conv-1', message_id: 'msg-1' },
    });
  });
});

describe("remote's reply → the conversation's result", () => {
  it('collapses one text part to the string and one data part to its data', () => {
    expect(toResult(message([text('done')]), 'conv', 'remote')).toMatchObject({ success: true, result: 'done', from_agent_id: 'remote' });
    expect(toResult(task(TaskState.TASK_STATE_COMPLETED, [[data({ a: 1 })]]), 'conv', 'remote')).toMatchObject({
      success: true,
      result: { a: 1 },
      metadata: { a2a: { task_id: 't-1', state: 'TASK_STATE_COMPLETED' } },
    });
  });

  it('gives several parts (of one or more artifacts) as an array of content parts', () => {
    const result = toResult(task(TaskState.TASK_STATE_COMPLETED, [[text('a')], [data(2), text('b')]]), 'conv', 'remote');
    expect(result.result).toEqual([
      { type: 'text', text: 'a' },
      { type: 'data', data: 2 },
      { type: 'text', text: 'b' },
    ]);
  });

  it("uses a completed task's status message when it has no artifacts, and null when it has neither", () => {
    expect(toResult(task(TaskState.TASK_STATE_COMPLETED, [], 'said so'), 'conv', 'remote').result).toBe('said so');
    expect(toResult(task(TaskState.TASK_STATE_COMPLETED), 'conv', 'remote').result).toBeNull();
  });

  it('makes FAILED, REJECTED, CANCELED and INPUT_REQUIRED success: false with an A2A_<state> code', () => {
    expect(toResult(task(TaskState.TASK_STATE_FAILED, [], 'boom'), 'conv', 'remote')).toMatchObject({
      success: false,
      error: { code: 'A2A_FAILED', message: expect.stringContaining('boom') },
    });
    expect(toResult(task(TaskState.TASK_STATE_REJECTED), 'conv', 'remote').error).toMatchObject({ code: 'A2A_REJECTED' });
    expect(toResult(task(TaskState.TASK_STATE_CANCELED), 'conv', 'remote').error).toMatchObject({ code: 'A2A_CANCELED' });
    expect(toResult(task(TaskState.TASK_STATE_INPUT_REQUIRED), 'conv', 'remote').error).toMatchObject({
      code: 'A2A_INPUT_REQUIRED',
      message: expect.stringContaining('no second turn'),
    });
  });

  it('polls only tasks that are neither terminal nor interrupted', () => {
    expect(isSettled(task(TaskState.TASK_STATE_SUBMITTED))).toBe(false);
    expect(isSettled(task(TaskState.TASK_STATE_WORKING))).toBe(false);
    expect(isSettled(task(TaskState.TASK_STATE_COMPLETED))).toBe(true);
    expect(isSettled(task(TaskState.TASK_STATE_AUTH_REQUIRED))).toBe(true);
  });
});
