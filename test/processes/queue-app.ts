/**
 * An app of two process types from one image (pier-local/node, no packages):
 * its Procfile runs `web` (the image's own command, server.js) and `worker`
 * (worker.js). Both speak RESP to the linked Redis (REDIS_URL) in a few lines.
 *
 *   web     GET /health                  200
 *           POST /enqueue?id=X           LPUSH jobs X
 *           GET /result?id=X             GET result:X (empty when unset)
 *   worker  BRPOP jobs, then SET result:<id> processed-by-<hostname>/<version>;
 *           on SIGTERM, SET result:stopped-<hostname> SIGTERM before it exits
 *
 * `version` is baked into both files, so that each commit is a new release
 * and the result names the release whose worker did the job.
 */
export function queueApp(version: string): Record<string, string> {
  return {
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
    Procfile: 'web: node server.js\nworker: node worker.js\n',
    'resp.js': RESP,
    'server.js': `const VERSION = '${version}';\n${SERVER}`,
    'worker.js': `const VERSION = '${version}';\n${WORKER}`,
  };
}

/** A RESP client on one connection: commands answered in order, replies parsed from a byte buffer. */
const RESP = `
const net = require('net');

function encode(parts) {
  return '*' + parts.length + '\\r\\n' + parts.map((p) => '$' + Buffer.byteLength(p) + '\\r\\n' + p + '\\r\\n').join('');
}

/** One reply starting at offset: [value, next offset], or null while it is incomplete. */
function parse(buffer, offset) {
  const end = buffer.indexOf('\\r\\n', offset);
  if (end < 0) return null;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, end);
  if (type === '+') return [line, end + 2];
  if (type === '-') return [new Error(line), end + 2];
  if (type === ':') return [Number(line), end + 2];
  const n = Number(line);
  if (n < 0) return [null, end + 2];
  if (type === '$') return buffer.length < end + 4 + n ? null : [buffer.toString('utf8', end + 2, end + 2 + n), end + 4 + n];
  const items = [];
  let at = end + 2;
  for (let i = 0; i < n; i++) {
    const item = parse(buffer, at);
    if (!item) return null;
    items.push(item[0]);
    at = item[1];
  }
  return [items, at];
}

exports.connect = function connect() {
  const url = new URL(process.env.REDIS_URL);
  const socket = net.connect(Number(url.port), url.hostname);
  const waiting = [];
  let buffer = Buffer.alloc(0);
  const fail = (err) => { while (waiting.length) waiting.shift().reject(err); };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('redis connection closed')));
  socket.on('data', (data) => {
    buffer = Buffer.concat([buffer, data]);
    while (waiting.length && buffer.length) {
      const reply = parse(buffer, 0);
      if (!reply) return;
      buffer = buffer.subarray(reply[1]);
      const next = waiting.shift();
      reply[0] instanceof Error ? next.reject(reply[0]) : next.resolve(reply[0]);
    }
  });
  const command = (...args) => new Promise((resolve, reject) => { waiting.push({ resolve, reject }); socket.write(encode(args)); });
  const ready = command('AUTH', decodeURIComponent(url.username || 'default'), decodeURIComponent(url.password));
  return { ready, command, close: () => socket.end() };
};
`;

const SERVER = `
const http = require('http');
const { connect } = require('./resp.js');

async function redis(...args) {
  const client = connect();
  try {
    await client.ready;
    return await client.command(...args);
  } finally {
    client.close();
  }
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const id = url.searchParams.get('id') || '';
  try {
    if (url.pathname === '/health') return res.end('ok ' + VERSION);
    if (url.pathname === '/enqueue' && req.method === 'POST') return res.end(String(await redis('LPUSH', 'jobs', id)));
    if (url.pathname === '/result') return res.end((await redis('GET', 'result:' + id)) || '');
    res.statusCode = 404;
    res.end('not found');
  } catch (err) {
    res.statusCode = 500;
    res.end('error: ' + err.message);
  }
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const WORKER = `
const os = require('os');
const { connect } = require('./resp.js');

async function main() {
  const redis = connect();
  await redis.ready;
  console.log('worker ' + VERSION + ' waiting for jobs');
  for (;;) {
    const job = await redis.command('BRPOP', 'jobs', '2');
    if (!job) continue;
    await redis.command('SET', 'result:' + job[1], 'processed-by-' + os.hostname() + '/' + VERSION);
    console.log('processed ' + job[1]);
  }
}
main().catch((err) => { console.error('worker failed: ' + err.message); process.exit(1); });
// Says it was asked to stop (on a connection of its own: the other waits in BRPOP), then exits.
process.on('SIGTERM', () => {
  const redis = connect();
  redis.ready
    .then(() => redis.command('SET', 'result:stopped-' + os.hostname(), 'SIGTERM'))
    .finally(() => process.exit(0));
});
`;
