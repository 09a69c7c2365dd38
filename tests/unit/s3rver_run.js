#!/usr/bin/env node
/*
 * Starts s3rver (node_modules/s3rver, pinned in package-lock.json) for the
 * objstore tests:
 *
 *   node --openssl-legacy-provider s3rver_run.js --dir DIR --bucket NAME [--port N]
 *
 * (s3rver 3.7 makes ListObjectsV2 continuation tokens with DES, which
 * OpenSSL 3 only offers from its legacy provider: without the flag every
 * listing of more than 1000 keys fails with HTTP 500.)
 *
 * Listens on 127.0.0.1 (port 0 = any free port), creates the bucket, and
 * prints "READY <port>" on stdout once it accepts requests. Exits on
 * SIGTERM/SIGINT, and when stdin closes, so a crashed test leaves no
 * server behind.
 *
 * Why the extra middleware: s3rver 3.7 checks only that a SigV4 request
 * names a known access key (S3RVER); it does not verify the signature. To
 * test that our requests (libcurl's signing of the URLs we build) are
 * signed the way AWS S3 verifies them, this script checks every
 * AWS4-HMAC-SHA256 request against the secret "S3RVER" following the SigV4
 * specification, and answers 403 SignatureDoesNotMatch (with the canonical
 * request it computed) when the signature is wrong. Requests naming another
 * access key are left to s3rver, which refuses them with InvalidAccessKeyId.
 */
'use strict';

const path = require('path');
const crypto = require('crypto');

const root = path.resolve(__dirname, '..', '..');
let S3rver;
let S3Error;
try {
  S3rver = require(path.join(root, 'node_modules', 's3rver'));
  S3Error = require(path.join(root, 'node_modules', 's3rver', 'lib',
                              'models', 'error'));
} catch (e) {
  process.stderr.write(
    's3rver_run: cannot load node_modules/s3rver (run `npm ci` at the ' +
    'repository root): ' + e.message + '\n');
  process.exit(2);
}

const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

/* RFC 3986 percent-encoding of raw bytes, as SigV4's UriEncode does. */
function uriEncode(bytes, keepSlash) {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) {
      out += c;
    } else {
      out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
    }
  }
  return out;
}

/* Percent-decoding to bytes; '+' stays '+' (it is not a space in SigV4). */
function percentDecode(s) {
  const bytes = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(s.substr(i + 1, 2))) {
      bytes.push(parseInt(s.substr(i + 1, 2), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(s[i], 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes);
}

function hmac(key, data) {
  return crypto.createHmac('sha256', key).update(data, 'utf8').digest();
}

function sha256hex(data) {
  return crypto.createHash('sha256').update(data, 'utf8').digest('hex');
}

function verifySigV4(req) {
  const auth = req.headers['authorization'] || '';
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return null;
  const fields = {};
  for (const part of auth.slice(17).split(',')) {
    const eq = part.indexOf('=');
    fields[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const [accessKey, date, region, service, term] =
    (fields.Credential || '').split('/');
  if (accessKey !== ACCESS_KEY) return null; /* s3rver refuses it */
  const rawUrl = req.url;
  const q = rawUrl.indexOf('?');
  const rawPath = q >= 0 ? rawUrl.slice(0, q) : rawUrl;
  const rawQuery = q >= 0 ? rawUrl.slice(q + 1) : '';
  /* S3 canonical URI: the path encoded once (no double encoding). */
  const canonicalUri = uriEncode(percentDecode(rawPath), true);
  const params = rawQuery === '' ? [] : rawQuery.split('&').map(p => {
    const eq = p.indexOf('=');
    const name = eq >= 0 ? p.slice(0, eq) : p;
    const value = eq >= 0 ? p.slice(eq + 1) : '';
    return [uriEncode(percentDecode(name), false),
            uriEncode(percentDecode(value), false)];
  });
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 :
                         a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const canonicalQuery = params.map(([n, v]) => n + '=' + v).join('&');
  const signed = (fields.SignedHeaders || '').split(';');
  const canonicalHeaders = signed.map(h => {
    const v = req.headers[h];
    if (v === undefined) return h + ':\n';
    return h + ':' + String(v).trim().replace(/\s+/g, ' ') + '\n';
  }).join('');
  const payloadHash = req.headers['x-amz-content-sha256'] || '';
  const canonicalRequest = [req.method, canonicalUri, canonicalQuery,
                            canonicalHeaders, signed.join(';'),
                            payloadHash].join('\n');
  const stringToSign = ['AWS4-HMAC-SHA256', req.headers['x-amz-date'],
                        [date, region, service, term].join('/'),
                        sha256hex(canonicalRequest)].join('\n');
  let k = hmac('AWS4' + SECRET_KEY, date);
  k = hmac(k, region);
  k = hmac(k, service);
  k = hmac(k, term);
  const expected = hmac(k, stringToSign).toString('hex');
  if (expected === fields.Signature && service === 's3' &&
      term === 'aws4_request' && signed.includes('host') &&
      payloadHash !== '') {
    return null;
  }
  return canonicalRequest;
}

async function main() {
  const dir = arg('--dir');
  const bucket = arg('--bucket');
  const port = Number(arg('--port', '0'));
  if (!dir || !bucket) {
    process.stderr.write('usage: s3rver_run.js --dir DIR --bucket NAME ' +
                         '[--port N]\n');
    process.exit(2);
  }
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    directory: dir,
    silent: true,
    /* "<bucket>.s3.localhost" selects the bucket (virtual-host style). */
    serviceEndpoint: 'localhost',
    configureBuckets: [{ name: bucket }],
  });
  server.middleware.unshift(async (ctx, next) => {
    const bad = verifySigV4(ctx.req);
    if (bad !== null) {
      process.stderr.write('s3rver_run: signature mismatch for ' +
                           ctx.method + ' ' + ctx.url + '\ncanonical ' +
                           'request:\n' + bad + '\n');
      throw new S3Error('SignatureDoesNotMatch',
                        'The request signature we calculated does not ' +
                        'match the signature you provided.',
                        { CanonicalRequest: bad });
    }
    return next();
  });
  const { port: actual } = await server.run();
  process.stdout.write('READY ' + actual + '\n');
  const stop = () => {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

main().catch(e => {
  process.stderr.write('s3rver_run: ' + (e.stack || e) + '\n');
  process.exit(1);
});
