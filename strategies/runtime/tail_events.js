#!/usr/bin/env node
// A worker in JavaScript (Node, no packages): subscribes to the runtime's WebSocket event stream and prints every
// event as one line, `<seq> <kind> <payload>`. When the connection drops, or the host closes it because this
// client fell behind (code 4008), it reconnects with `since=` the last seq it printed: nothing is lost or repeated
// while the host still keeps the events (a `transport.gap` event says when it does not).
//
//   workers:
//     tail:
//       command: /usr/bin/node
//       args: ['${BOTYARD_ROOT}/strategies/runtime/tail_events.js']
//       env: {TAIL_KINDS: "desk.*,notify"}
//       sandbox: {memory: 2g}   # V8 reserves more address space than the default 512 MiB
'use strict';
const net = require('net');
const crypto = require('crypto');

const base = new URL(process.env.BOTYARD_RUNTIME_URL || 'http://127.0.0.1:8700');
const token = process.env.BOTYARD_RUNTIME_TOKEN || '';
const kinds = (process.env.TAIL_KINDS || '').split(',').filter(Boolean);
const MAX_MESSAGE = 4 * 1024 * 1024;
let since = null;
let delay = 500;
let stopping = false;

process.on('SIGTERM', () => { stopping = true; console.log('tail: stopping'); process.exit(0); });

// A client frame: masked, as RFC 6455 requires of clients.
function frame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x80 | opcode, 0x80 | payload.length])
    : Buffer.from([0x80 | opcode, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
  return Buffer.concat([head, mask, body]);
}

// The frames at the start of `buffer`: [{fin, opcode, payload}], and the bytes left over.
function frames(buffer) {
  const found = [];
  for (;;) {
    if (buffer.length < 2) break;
    let length = buffer[1] & 127;
    let offset = 2;
    if (length === 126) { if (buffer.length < 4) break; length = buffer.readUInt16BE(2); offset = 4; }
    else if (length === 127) {
      if (buffer.length < 10) break;
      const big = buffer.readBigUInt64BE(2);
      if (big > BigInt(MAX_MESSAGE)) throw new Error('frame too large');
      length = Number(big); offset = 10;
    }
    if (buffer.length < offset + length) break;
    found.push({ fin: (buffer[0] & 0x80) !== 0, opcode: buffer[0] & 15, payload: buffer.subarray(offset, offset + length) });
    buffer = buffer.subarray(offset + length);
  }
  return [found, buffer];
}

function connect() {
  const query = kinds.map((kind) => 'kinds=' + encodeURIComponent(kind));
  if (since !== null) query.push('since=' + since);
  const key = crypto.randomBytes(16).toString('base64');
  const socket = net.connect(Number(base.port || 80), base.hostname);
  socket.setTimeout(60000);  // the host pings every 20 s: a silent minute is a dead connection
  socket.on('timeout', () => socket.destroy());
  socket.write(`GET /api/events/ws?${query.join('&')} HTTP/1.1\r\nHost: ${base.host}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
    `Authorization: Bearer ${token}\r\n\r\n`);
  let buffer = Buffer.alloc(0);
  let upgraded = false;
  let message = [];
  socket.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!upgraded) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffer.subarray(0, end).toString();
      const accept = crypto.createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(accept)) {
        console.error('tail: the host refused the stream: ' + head.split('\r\n')[0]);
        return socket.destroy();
      }
      upgraded = true;
      delay = 500;
      console.log('tail: subscribed' + (since === null ? '' : ` since ${since}`));
      buffer = buffer.subarray(end + 4);
    }
    let found;
    try { [found, buffer] = frames(buffer); } catch (error) { console.error('tail: ' + error.message); return socket.destroy(); }
    for (const { fin, opcode, payload } of found) {
      if (opcode === 9) { socket.write(frame(10, payload)); continue; }  // ping → pong
      if (opcode === 8) {
        const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        console.log(`tail: closed by the host: ${code} ${payload.subarray(2).toString()}`);
        socket.end(frame(8, payload.subarray(0, 2)));
        continue;
      }
      if (opcode === 1 || opcode === 0) {
        message.push(payload);
        if (!fin) continue;
        const text = Buffer.concat(message).toString();
        message = [];
        const event = JSON.parse(text);
        since = event.seq;
        console.log(`${event.seq} ${event.kind} ${JSON.stringify(event.payload)}`);
      }
    }
  });
  socket.on('error', (error) => console.error('tail: ' + error.message));
  socket.on('close', () => {
    if (stopping) return;
    delay = Math.min(delay * 2, 10000);
    setTimeout(connect, delay * (0.5 + Math.random() / 2));
  });
}

connect();
