import { TaskState, type Part, type Task } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '#libs/protocol';
import { completeTask, describeError, isFinal, partsToContent, withHistoryLength } from './a2a-mapping.js';
import { agentCard } from './a2a-card.js';

const part = (content: Part['content']): Part => ({ content, metadata: {}, filename: '', mediaType: '' });
const working: Task = {
  id: 't1',
  contextId: 'c1',
  status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: undefined },
  artifacts: [],
  history: [],
  metadata: {},
};

describe('A2A ↔ gateway mapping', () => {
  it('turns text and data parts into content, and refuses files and empty messages', () => {
    expect(partsToContent([part({ $case: 'text', value: 'hi' }), part({ $case: 'data', value: { a: 1 } })])).toEqual([
      { type: 'text', text: 'hi' },
      { type: 'data', data: { a: 1 } },
    ]);
    const refusal = (parts: Part[]): GatewayError => {
      try {
        partsToContent(parts);
      } catch (error) {
        return error as GatewayError;
      }
      throw new Error('not refused');
    };
    expect(refusal([])).toMatchObject({ code: 'INVALID_MESSAGE' });
    expect(refusal([part({ $case: 'text', value: 'x' }), part({ $case: 'url', value: 'https://x/f' })])).toMatchObject({
      code: 'INVALID_MESSAGE',
      message: 'message.parts[1]: only text and data parts reach a gateway agent (not url)',
    });
  });

  it('ends a task COMPLETED with one artifact: a text part for a string, a data part otherwise', () => {
    const at = new Date('2026-12-02T00:00:00.000Z');
    const text = completeTask(working, { conversation_id: 't1', from_agent_id: 'b', success: true, result: 'done', metadata: {} }, at);
    expect(text.status).toMatchObject({ state: TaskState.TASK_STATE_COMPLETED, timestamp: at.toISOString() });
    expect(text.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'text', value: 'done' });
    const data = completeTask(working, { conversation_id: 't1', from_agent_id: 'b', success: true, result: [1, 2], metadata: {} }, at);
    expect(data.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'data', value: [1, 2] });
    const none = completeTask(working, { conversation_id: 't1', from_agent_id: 'b', success: true, metadata: {} }, at);
    expect(none.artifacts[0]?.parts[0]?.content).toEqual({ $case: 'data', value: null });
    expect(isFinal(text)).toBe(true);
    expect(isFinal(working)).toBe(false);
  });

  it('ends a task FAILED with the words of the error', () => {
    const failed = completeTask(
      working,
      { conversation_id: 't1', from_agent_id: 'b', success: false, error: { code: 'TIMEOUT', message: 'no result' }, metadata: {} },
      new Date(),
    );
    expect(failed.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    expect(failed.status?.message?.parts[0]?.content).toEqual({ $case: 'text', value: 'TIMEOUT: no result' });
    expect(failed.artifacts).toEqual([]);
    expect(describeError('plain words')).toBe('plain words');
    expect(describeError({ message: 'only words' })).toBe('only words');
    expect(describeError(undefined)).toBe('the agent reported a failure');
  });

  it('applies historyLength', () => {
    const task = { ...working, history: [1, 2, 3].map((n) => ({ messageId: `m${n}` })) } as unknown as Task;
    expect(withHistoryLength(task, undefined).history).toHaveLength(3);
    expect(withHistoryLength(task, 0).history).toHaveLength(0);
    expect(withHistoryLength(task, 2).history.map((m) => m.messageId)).toEqual(['m2', 'm3']);
  });

  it('builds a card with a skill per capability and the security schemes of AUTH_METHODS', () => {
    const card = agentCard(
      { agent_id: 'a b', agent_name: 'A', description: null, capabilities: ['plan'] },
      'https://gw.example',
      ['token', 'oidc', 'mtls'],
      '1.2.3',
    );
    expect(card.supportedInterfaces[0]).toEqual({
      url: 'https://gw.example/a2a/a%20b',
      protocolBinding: 'JSONRPC',
      protocolVersion: '1.0',
      tenant: '',
    });
    expect(card.skills.map((s) => s.id)).toEqual(['plan']);
    expect(Object.keys(card.securitySchemes)).toEqual(['apiToken', 'oidc', 'mtls']);
    expect(card.securityRequirements).toHaveLength(3);
    expect(
      agentCard({ agent_id: 'x', agent_name: 'X', description: 'd', capabilities: [] }, 'http://h', ['none'], 'v').securitySchemes,
    ).toEqual({});
  });
});
