import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import { describe, expect, it } from 'vitest';
import { FrameMeter } from './frame-meter.js';

describe('FrameMeter', () => {
  const fakeSocket = (): { socket: Socket; conn: EventEmitter } => {
    const conn = new EventEmitter();
    return { socket: { conn } as unknown as Socket, conn };
  };

  it('measures the last text frame in bytes', () => {
    const { socket, conn } = fakeSocket();
    const meter = new FrameMeter(socket);
    conn.emit('packet', { type: 'message', data: '42/gateway,["send",{"text":"€"}]' });
    expect(meter.take()).toEqual({ bytes: 34, binary: false });
    expect(meter.take()).toEqual({ bytes: 0, binary: false });
  });

  it('adds binary attachments to their header and flags them', () => {
    const { socket, conn } = fakeSocket();
    const meter = new FrameMeter(socket);
    conn.emit('packet', { type: 'message', data: '51-/gateway,["send",{"_placeholder":true,"num":0}]' });
    conn.emit('packet', { type: 'message', data: Buffer.alloc(100) });
    expect(meter.take()).toMatchObject({ binary: true });
    conn.emit('packet', { type: 'ping' });
    expect(meter.take()).toEqual({ bytes: 0, binary: false });
  });
});
