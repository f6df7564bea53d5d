import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The interpreter the Python tests run: Debian's, where `.ci/run` installs python3-websockets (and
 * python3-socketio for the examples); a `python3` earlier on PATH (pyenv) may lack them. `PYTHON`
 * overrides it.
 */
export const PYTHON = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

/** The SDK's sources, put on PYTHONPATH so the tests use this checkout's `agent_gateway`. */
export const PYTHON_SDK_SRC = `${ROOT}clients/python/src`;

/** A JSON line a Python test script printed: `{"event": "...", ...}`. */
export type PythonEvent = { event: string } & Record<string, unknown>;

/** A running Python script that reports what it observed as JSON lines on stdout. */
export interface PythonScript {
  child: ChildProcess;
  events: PythonEvent[];
  /** Every stdout and stderr line, for failure messages. */
  output: string[];
  /** Resolves with the first event (from the start) that matches; rejects after `timeoutMs` or when the script exits first. */
  next(event: string, timeoutMs?: number, where?: (e: PythonEvent) => boolean): Promise<PythonEvent>;
  /** Resolves with the first output line (from the start) that starts with `prefix`. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  exited: Promise<number | null>;
}

/** Starts `python3 <script> <args…>` with the SDK on PYTHONPATH and collects its JSON events. */
export function runPythonScript(script: string, args: string[], env: Record<string, string>): PythonScript {
  const child = spawn(PYTHON, [script, ...args], {
    env: { PATH: process.env.PATH ?? '', PYTHONPATH: PYTHON_SDK_SRC, PYTHONUNBUFFERED: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: PythonEvent[] = [];
  const output: string[] = [];
  const listeners = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
    for (const listener of listeners) listener();
  });
  const onLine = (text: string, parse: boolean): void => {
    output.push(text);
    if (parse) {
      try {
        const parsed = JSON.parse(text) as PythonEvent;
        if (typeof parsed.event === 'string') events.push(parsed);
      } catch {
        // a plain line: only `line()` looks at it
      }
    }
    for (const listener of listeners) listener();
  };
  lines(child.stdout, (line) => onLine(line, true));
  lines(child.stderr, (line) => onLine(line, false));
  const waitUntil = <T>(find: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found !== undefined) finish(() => resolve(found));
        else if (done) finish(() => reject(new Error(`the script exited before ${what}:\n${output.join('\n')}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} in ${timeoutMs} ms:\n${output.join('\n')}`))), timeoutMs);
      const finish = (settle: () => void): void => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });
  const next: PythonScript['next'] = (event, timeoutMs = 20_000, where = () => true) =>
    waitUntil(() => events.find((e) => e.event === event && where(e)), `"${event}"`, timeoutMs);
  const line: PythonScript['line'] = (prefix, timeoutMs = 20_000) =>
    waitUntil(() => output.find((l) => l.startsWith(prefix)), `a line "${prefix}…"`, timeoutMs);
  return { child, events, output, next, line, exited };
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let buffer = '';
  stream?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let i = buffer.indexOf('\n'); i >= 0; i = buffer.indexOf('\n')) {
      onLine(buffer.slice(0, i));
      buffer = buffer.slice(i + 1);
    }
  });
}
