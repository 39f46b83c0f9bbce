import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

/**
 * An app that uses its linked services, built on pier-local/node with no
 * registry: postgres.js (this repository's own copy, CommonJS build) is
 * vendored into the image, and Redis is spoken in a few lines of RESP.
 *
 *   /health                      200
 *   /greeting                    $GREETING
 *   /env                         names of the variables ending in _URL
 *   /pg/write?v=X  /pg/read      insert into / list the `items` table (via DATABASE_URL)
 *   /pg/drop                     drop the table
 *   /redis/set?k=&v=  /redis/get?k=   via REDIS_URL
 *   /probe?host=&port=           `connected`, or why a TCP connection failed (within 2 s)
 */
export function serviceApp(): Record<string, string> {
  const vendorDir = join(REPO_ROOT, 'node_modules/postgres/cjs/src');
  const vendored = Object.fromEntries(
    readdirSync(vendorDir)
      .filter((file) => file.endsWith('.js'))
      .map((file) => [`pg/${file}`, readFileSync(join(vendorDir, file), 'utf8')]),
  );
  return {
    ...vendored,
    'pg/package.json': '{"type":"commonjs"}\n',
    Dockerfile: 'FROM pier-local/node\nWORKDIR /app\nCOPY . .\nCMD ["node", "server.js"]\n',
    'server.js': SERVER,
  };
}

const SERVER = `
const http = require('http');
const net = require('net');
const postgres = require('./pg/index.js');
const sql = process.env.DATABASE_URL ? postgres(process.env.DATABASE_URL, { max: 2, idle_timeout: 5, connect_timeout: 5 }) : null;

function redis(args) {
  return new Promise((resolve, reject) => {
    const url = new URL(process.env.REDIS_URL);
    const socket = net.connect(Number(url.port), url.hostname);
    const commands = [['AUTH', decodeURIComponent(url.username || 'default'), decodeURIComponent(url.password)], args];
    const encode = (parts) => '*' + parts.length + '\\r\\n' + parts.map((p) => '$' + Buffer.byteLength(p) + '\\r\\n' + p + '\\r\\n').join('');
    socket.setTimeout(5000, () => socket.destroy(new Error('redis timeout')));
    let buffer = '';
    socket.on('data', (d) => {
      buffer += d;
      const replies = buffer.split('\\r\\n');
      // AUTH reply, then the command's (a bulk string spans two lines).
      if (replies.length < 3) return;
      if (!replies[0].startsWith('+OK')) return reject(new Error('auth: ' + replies[0]));
      const head = replies[1];
      if (head.startsWith('$')) {
        if (head === '$-1') { socket.end(); return resolve(null); }
        if (replies.length < 4) return;
        socket.end(); return resolve(replies[2]);
      }
      socket.end();
      head.startsWith('-') ? reject(new Error(head)) : resolve(head.slice(1));
    });
    socket.on('error', reject);
    socket.write(commands.map(encode).join(''));
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const q = (k) => url.searchParams.get(k) || '';
  try {
    switch (url.pathname) {
      case '/health': return res.end('ok');
      case '/greeting': return res.end(process.env.GREETING || '');
      case '/env': return res.end(Object.keys(process.env).filter((k) => k.endsWith('_URL')).sort().join(','));
      case '/pg/write':
        await sql\`create table if not exists items (id serial primary key, value text not null)\`;
        await sql\`insert into items (value) values (\${q('v')})\`;
        return res.end('written');
      case '/pg/read': {
        const rows = await sql\`select value from items order by id\`;
        return res.end(rows.map((r) => r.value).join(','));
      }
      case '/pg/drop':
        await sql\`drop table items\`;
        return res.end('dropped');
      case '/redis/set': return res.end(String(await redis(['SET', q('k'), q('v')])));
      case '/redis/get': return res.end(String(await redis(['GET', q('k')])));
      case '/probe': {
        const socket = net.connect(Number(q('port')), q('host'));
        const done = (text) => { socket.destroy(); res.end(text); };
        socket.setTimeout(2000, () => done('timeout'));
        socket.on('connect', () => done('connected'));
        socket.on('error', (e) => done(e.code || e.message));
        return;
      }
      default: res.statusCode = 404; return res.end('not found');
    }
  } catch (err) {
    res.statusCode = 500;
    res.end('error: ' + err.message);
  }
});
server.listen(process.env.PORT);
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;
