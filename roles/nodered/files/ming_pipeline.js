// Copyright (c) 2025, sensingcam.ming maintainers
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
// SPDX-License-Identifier: GPL-3.0-or-later
//
// The anomaly-to-clip pipeline (docs/pipeline.md): every stage the correlation flow's function nodes run.
// CommonJS for Node 18, core modules only, so it runs (and is tested) outside Node-RED exactly as inside it.
//
//   receive(topic, payload)  normalise a PLC payload, dead-letter a malformed one, derive the event id, drop a
//                            duplicate, JOURNAL the event (temp + fsync + rename) before anything else happens
//   correlate(event)         trigger the camera (SICK login) and create the Frigate event, once per recording
//                            window and camera; wait for the clip -> matched | timeout | trigger_failed | none
//   record(record)           the InfluxDB point into the durable OUTBOX, then the journal entry goes
//   drain()                  outbox -> InfluxDB in batches; ack only after HTTP 204; backoff on failure
//   resume()                 journal entries a previous process left behind, to correlate again
//
// Secrets come from process.env (settings.js exposes secrets.json as MING_SECRET_<KEY>); none is ever put into a
// result, a message, a record or a log line.
'use strict';

const fs = require('fs');
const fsp = fs.promises;
const path = require('path');
const crypto = require('crypto');
const http = require('http');
const https = require('https');
const { URL } = require('url');

const SECRET_PREFIX = 'MING_SECRET_';
const DEFAULT_CONFIG_PATH = '/config/pipeline.json';
const DEAD_LETTER_PAYLOAD_CHARS = 4096;
const MAX_RESPONSE_BYTES = 1024 * 1024;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
const EVENT_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const PLC_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;
const TARGET_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,30}$/;
const CONTROL_CHARACTERS = /[\x00-\x1f\x7f]/;
// Payload keys each field is read from (compared case-insensitively), first match wins.
const FIELD_ALIASES = {
  event: ['event', 'event_type', 'type'],
  line: ['line', 'line_id'],
  station: ['station', 'station_id', 'machine'],
  severity: ['severity', 'level', 'priority'],
  timestamp: ['timestamp', 'ts', 'time', '@timestamp'],
  id: ['event_id', 'id'],
};
const ISO_TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})$/i;
const NUMERIC_TIMESTAMP = /^(\d{1,20})(?:\.(\d{1,9}))?$/;
const NS_PER_S = 1000000000n;
const EARLIEST_NS = 946684800n * NS_PER_S; // 2000-01-01T00:00:00Z: a PLC clock that was never set reads 1970
const FUTURE_TOLERANCE_NS = 86400n * NS_PER_S;
const SICK_RELOGIN_STATUSES = [4, 10];
const SICK_STATUS_NAMES = { 4: 'access denied', 5: 'not found', 10: 'invalid challenge', 11: 'out of connections' };

function secretEnvName(key) {
  return SECRET_PREFIX + String(key).toUpperCase().replace(/[^A-Z0-9]/g, '_');
}

function sha256Hex(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function isAscii(text) {
  return /^[\x00-\x7f]*$/.test(text);
}

// --- SICK challenge/response login (mirrors plugins/module_utils/sick_login.py) ----------------------------------
function sickHa1(user, realm, password, salt, emptySalt) {
  const rule = emptySalt || 'separator';
  if (rule !== 'separator' && rule !== 'no_salt') {
    throw new Error(`empty_salt must be separator or no_salt, not ${rule}`);
  }
  if (!isAscii(password)) {
    throw new Error('the camera password contains characters outside ASCII: set an ASCII-only password on the camera and in secrets');
  }
  let data = Buffer.from(`${user}:${realm}:${password}`, 'utf8');
  if (salt !== null && salt !== undefined && (salt.length > 0 || rule === 'separator')) {
    data = Buffer.concat([data, Buffer.from(':'), Buffer.from(salt.map((value) => value & 0xff))]);
  }
  return sha256Hex(data);
}

function sickResponse(user, realm, password, nonce, name, salt, emptySalt, method) {
  const ha2 = sha256Hex(`${method || 'POST'}:${name}`);
  return sha256Hex(`${sickHa1(user, realm, password, salt, emptySalt)}:${nonce}:${ha2}`);
}

// --- line protocol ---------------------------------------------------------------------------------------------
function escapeMeasurement(text) {
  return String(text).replace(/[, ]/g, (c) => '\\' + c);
}

function escapeTag(text) {
  return String(text).replace(/[,= ]/g, (c) => '\\' + c);
}

function escapeFieldString(text) {
  return '"' + String(text).replace(/[\r\n]+/g, ' ').replace(/["\\]/g, (c) => '\\' + c) + '"';
}

function fieldValue(value) {
  if (typeof value === 'boolean') {
    return value ? 'true' : 'false';
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new Error(`field value ${value} is not a finite number`);
    }
    return String(value);
  }
  return escapeFieldString(value === null || value === undefined ? '' : value);
}

// One line: tags sorted by key, empty tags left out (line protocol has no empty tag value), every field written.
function lineProtocol(measurement, tags, fields, timestampNs) {
  const tagText = Object.keys(tags).sort()
    .filter((key) => tags[key] !== null && tags[key] !== undefined && String(tags[key]) !== '')
    .map((key) => `,${escapeTag(key)}=${escapeTag(tags[key])}`).join('');
  const fieldText = Object.keys(fields).sort().map((key) => `${escapeTag(key)}=${fieldValue(fields[key])}`).join(',');
  return `${escapeMeasurement(measurement)}${tagText} ${fieldText} ${timestampNs}`;
}

// --- timestamps --------------------------------------------------------------------------------------------------
// Numbers (or digit strings) are told apart by magnitude: below 1e11 seconds (1e11 s is the year 5138; as
// milliseconds it would be 1973), below 1e14 milliseconds, below 1e17 microseconds, otherwise nanoseconds. A
// fraction is allowed in any unit. Text must be ISO 8601 with a time zone (Z or +hh:mm): a local time is ambiguous.
function parseTimestamp(value, nowNs) {
  let ns;
  if (typeof value === 'number' || (typeof value === 'string' && NUMERIC_TIMESTAMP.test(value.trim()))) {
    const text = typeof value === 'number' ? (Number.isFinite(value) ? value.toFixed(9).replace(/\.?0+$/, '') : 'x')
      : value.trim();
    const match = NUMERIC_TIMESTAMP.exec(text);
    if (!match) {
      return { error: `timestamp ${String(value).slice(0, 40)} is not a number of seconds, milliseconds or nanoseconds` };
    }
    const whole = BigInt(match[1]);
    const fraction = (match[2] || '').padEnd(9, '0');
    let unitNs;
    if (whole < 100000000000n) {
      unitNs = NS_PER_S;
    } else if (whole < 100000000000000n) {
      unitNs = 1000000n;
    } else if (whole < 100000000000000000n) {
      unitNs = 1000n;
    } else {
      unitNs = 1n;
    }
    ns = whole * unitNs + (BigInt(fraction) * unitNs) / NS_PER_S;
  } else if (typeof value === 'string') {
    const match = ISO_TIMESTAMP.exec(value.trim());
    if (!match) {
      return { error: `timestamp ${value.slice(0, 40)} is not ISO 8601 with a time zone (2025-03-01T08:15:00.123Z)` };
    }
    const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
    const ms = Date.UTC(year, month - 1, day, hour, minute, second);
    const check = new Date(ms);
    if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
      return { error: `timestamp ${value.slice(0, 40)} is not a valid date and time` };
    }
    let offsetMinutes = 0;
    if (match[8].toUpperCase() !== 'Z') {
      const zone = match[8].replace(':', '');
      offsetMinutes = (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
    }
    ns = BigInt(ms - offsetMinutes * 60000) * 1000000n + BigInt((match[7] || '').padEnd(9, '0'));
  } else {
    return { error: 'timestamp is missing' };
  }
  if (ns < EARLIEST_NS) {
    return { error: `timestamp ${String(value).slice(0, 40)} is before 2000-01-01: is the PLC clock set?` };
  }
  if (ns > nowNs + FUTURE_TOLERANCE_NS) {
    return { error: `timestamp ${String(value).slice(0, 40)} is more than one day in the future: is the PLC clock set?` };
  }
  return { ns };
}

function isoFromNs(ns) {
  const ms = Number(ns / 1000000n);
  const rest = String(ns % NS_PER_S).padStart(9, '0');
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, `.${rest}Z`);
}

// --- small HTTP client ---------------------------------------------------------------------------------------------
const caCache = new Map();
const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };

function readCa(caFile) {
  if (!caFile) {
    return undefined;
  }
  if (!caCache.has(caFile)) {
    caCache.set(caFile, fs.readFileSync(caFile));
  }
  return caCache.get(caFile);
}

// Resolves {status, headers, body}; rejects on a network error or timeout. headersOnly: resolve on the status line
// and drop the connection (the clip probe never downloads a clip).
function httpRequest(target, options) {
  const opts = options || {};
  return new Promise((resolve, reject) => {
    let url;
    try {
      url = new URL(target);
    } catch (err) {
      reject(new Error(`${target} is not a URL`));
      return;
    }
    const tls = url.protocol === 'https:';
    const module = tls ? https : http;
    const requestOptions = {
      method: opts.method || 'GET',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (tls ? 443 : 80),
      path: url.pathname + url.search,
      headers: Object.assign({}, opts.headers || {}),
      timeout: opts.timeoutMs || 10000,
      agent: opts.headersOnly ? false : agents[url.protocol],
    };
    if (tls) {
      requestOptions.rejectUnauthorized = opts.validateCerts !== false;
      try {
        requestOptions.ca = readCa(opts.caFile);
      } catch (err) {
        reject(new Error(`cannot read the CA file ${opts.caFile}: ${err.code || err.message}`));
        return;
      }
    }
    let body = opts.body;
    if (body !== undefined && body !== null && !Buffer.isBuffer(body)) {
      body = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
      if (!requestOptions.headers['Content-Type']) {
        requestOptions.headers['Content-Type'] = typeof opts.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
      }
    }
    if (body) {
      requestOptions.headers['Content-Length'] = body.length;
    }
    const request = module.request(requestOptions, (response) => {
      if (opts.headersOnly) {
        resolve({ status: response.statusCode, headers: response.headers, body: Buffer.alloc(0) });
        response.destroy();
        return;
      }
      const chunks = [];
      let size = 0;
      response.on('data', (chunk) => {
        size += chunk.length;
        if (size <= MAX_RESPONSE_BYTES) {
          chunks.push(chunk);
        }
      });
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url.host} within ${requestOptions.timeout} ms`)));
    request.on('error', (err) => reject(new Error(`${url.host}: ${err.code || err.message}`)));
    if (body) {
      request.write(body);
    }
    request.end();
  });
}

function parseJson(buffer) {
  try {
    return JSON.parse(buffer.toString('utf8'));
  } catch (err) {
    return undefined;
  }
}

// --- durable files -------------------------------------------------------------------------------------------------
let tempCounter = 0;

function fsyncDirectory(dir) {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

// temp file + fsync + rename + fsync of the directory: after return the file survives a SIGKILL or power loss.
function writeDurable(dir, tempDir, name, text) {
  tempCounter += 1;
  const temp = path.join(tempDir, `${name}.${process.pid}.${tempCounter}.tmp`);
  const fd = fs.openSync(temp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, path.join(dir, name));
  fsyncDirectory(dir);
}

async function fsyncDirectoryAsync(dir) {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// writeDurable without blocking the event loop: messages keep arriving (and queue for the next batch) meanwhile.
async function writeDurableAsync(dir, tempDir, name, text) {
  tempCounter += 1;
  const temp = path.join(tempDir, `${name}.${process.pid}.${tempCounter}.tmp`);
  const handle = await fsp.open(temp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temp, path.join(dir, name));
  await fsyncDirectoryAsync(dir);
}

// Group commit: items added while a flush runs are flushed together by the next one (one file, one fsync of it and
// one of its directory per batch); each add() resolves only after the batch holding ITS item is durable.
class GroupCommit {
  constructor(flush) {
    this.flush = flush;
    this.queue = [];
    this.running = false;
    this.batches = 0;
  }

  add(item) {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => this.run());
      }
    });
  }

  async run() {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.queue.length);
      this.batches += 1;
      try {
        await this.flush(batch.map((waiting) => waiting.item));
        batch.forEach((waiting) => waiting.resolve());
      } catch (err) {
        batch.forEach((waiting) => waiting.reject(err));
      }
    }
    this.running = false;
  }
}

let batchCounter = 0;

// Batch file names sort in write order: milliseconds, pid, counter.
function batchName(nowMs, extension) {
  batchCounter += 1;
  return `${String(Math.floor(nowMs)).padStart(15, '0')}-${process.pid}-${String(batchCounter).padStart(9, '0')}${extension}`;
}

// A journal or outbox file: a batch (.jsonl, one JSON object a line) or a single entry of an older version (.json).
function readEntries(file) {
  const text = fs.readFileSync(file, 'utf8');
  if (file.endsWith('.json')) {
    return [JSON.parse(text)];
  }
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

function unlinkQuiet(file) {
  try {
    fs.unlinkSync(file);
  } catch (err) {
    if (err.code !== 'ENOENT') {
      throw err;
    }
  }
}

function require_(config, dotted) {
  let value = config;
  for (const part of dotted.split('.')) {
    value = value === null || value === undefined ? undefined : value[part];
  }
  if (value === undefined || value === null || value === '') {
    throw new Error(`pipeline.json: ${dotted} is missing; the nodered role writes it from its variables (docs/pipeline.md)`);
  }
  return value;
}

function topicPatternMatch(pattern, topic) {
  const want = pattern.split('/');
  const have = topic.split('/');
  let line = null;
  for (let i = 0; i < want.length; i += 1) {
    if (want[i] === '#') {
      return { matched: true, line };
    }
    if (i >= have.length) {
      return { matched: false };
    }
    if (want[i] === '+') {
      if (line === null) {
        line = have[i];
      }
    } else if (want[i] !== have[i]) {
      return { matched: false };
    }
  }
  return { matched: want.length === have.length, line };
}

class Pipeline {
  constructor(config, options) {
    const opts = options || {};
    if (config.version !== 1) {
      throw new Error(`pipeline.json: version ${config.version} is not supported (this library reads version 1)`);
    }
    for (const key of ['mqtt.ack_topic', 'mqtt.dead_letter_topic', 'frigate.url', 'frigate.public_url', 'frigate.label',
      'influxdb.url', 'influxdb.measurement', 'outbox.dir']) {
      require_(config, key);
    }
    this.config = config;
    this.env = opts.env || process.env;
    this.now = opts.now || (() => Date.now());
    this.log = opts.log || (() => undefined);
    this.triggerEvents = new Set((config.events || []).map((name) => String(name).toLowerCase()));
    this.stations = new Map();
    for (const entry of config.stations || []) {
      this.stations.set(`${entry.line}\u0000${entry.station}`, entry.camera);
    }
    this.selfTest = config.self_test || {};
    this.plant = config.plant ? String(config.plant) : '';
    const dir = config.outbox.dir;
    this.dirs = {
      journal: path.join(dir, 'journal'), outbox: path.join(dir, 'outbox'), seen: path.join(dir, 'seen'),
      deadLetter: path.join(dir, 'dead_letter'), temp: path.join(dir, 'tmp'),
    };
    // One outbox per InfluxDB target: the primary (influxdb, the local data layer) in outbox/ as before, each
    // secondary (influxdb_secondary[], e.g. central) in outbox-<name>/. Each has its own drain and backoff.
    this.targets = [this.makeTarget(config.influxdb.name || 'local', config.influxdb, this.dirs.outbox, true)];
    for (const [index, secondary] of (Array.isArray(config.influxdb_secondary) ? config.influxdb_secondary : []).entries()) {
      const name = secondary && secondary.name;
      if (!TARGET_NAME_PATTERN.test(String(name || '')) || this.targets.some((target) => target.name === name)) {
        throw new Error(`pipeline.json: influxdb_secondary[${index}].name ${JSON.stringify(name)} must be a unique name `
          + '(a-z, 0-9, _ and -, at most 31; not the primary\'s); the nodered role writes it from nodered_influxdb_targets');
      }
      if (!secondary.url) {
        throw new Error(`pipeline.json: influxdb_secondary[${index}].url is missing; the nodered role writes it from nodered_influxdb_targets`);
      }
      const influx = Object.assign({ measurement: config.influxdb.measurement }, secondary);
      this.targets.push(this.makeTarget(name, influx, path.join(dir, `outbox-${name}`), false));
    }
    for (const sub of Object.values(this.dirs).concat(this.targets.map((target) => target.dir))) {
      fs.mkdirSync(sub, { recursive: true, mode: 0o700 });
    }
    for (const stale of fs.readdirSync(this.dirs.temp)) {
      unlinkQuiet(path.join(this.dirs.temp, stale));
    }
    this.inflight = new Set();
    this.preReceived = new Map();
    this.windows = new Map();
    this.challenges = new Map();
    this.frigateToken = null;
    this.secondaryDeadLetters = [];
    this.lastPrune = 0;
    this.stats = { received: 0, duplicates: 0, dead_letters: 0, triggers: 0, joined: 0, stored: 0, write_failures: 0 };
    this.loadIndex();
    this.journalCommit = new GroupCommit((events) => this.flushJournal(events));
    this.outboxCommit = new GroupCommit((entries) => this.flushOutbox(entries));
    this.seenCommit = new GroupCommit((keys) => this.flushSeen(keys));
  }

  makeTarget(name, influx, dir, primary) {
    return {
      name, influx, dir, primary, index: { files: new Map(), keys: new Map() }, draining: false, drainAgain: false,
      backoffMs: 0, nextAttemptAt: 0, lastWriteError: null, stats: { stored: 0, write_failures: 0, dead_letters: 0 },
      // the secrets of this target: influxdb_password / influxdb_token, a secondary's with ':<name>'
      secretSuffix: primary ? '' : `:${name}`,
    };
  }

  // The primary target's state under the names it had before there were several targets.
  get outbox() {
    return this.targets[0].index;
  }

  get backoffMs() {
    return this.targets[0].backoffMs;
  }

  get nextAttemptAt() {
    return this.targets[0].nextAttemptAt;
  }

  get draining() {
    return this.targets[0].draining;
  }

  get lastWriteError() {
    return this.targets[0].lastWriteError;
  }

  // Per target: {name, pending, stored, write_failures, dead_letters, last_error}.
  targetStats() {
    return this.targets.map((target) => Object.assign({ name: target.name, pending: target.index.keys.size,
      last_error: target.lastWriteError }, target.stats));
  }

  // The on-disk state, indexed in memory once (this process is the only writer): journal batches (accepted, not
  // yet in the outbox), outbox batches (not yet stored), seen batches (stored or dead-lettered, kept dedup.ttl_s).
  loadIndex() {
    this.journal = { files: new Map(), keys: new Map() };
    this.seen = { files: new Map(), keys: new Map() };
    this.resumable = [];
    const indexes = [['journal', this.dirs.journal, this.journal]]
      .concat(this.targets.map((target) => [`outbox ${target.name}`, target.dir, target.index]));
    for (const [kind, dir, index] of indexes) {
      for (const name of fs.readdirSync(dir).filter((file) => /\.jsonl?$/.test(file)).sort()) {
        const file = path.join(dir, name);
        let entries;
        try {
          entries = readEntries(file);
        } catch (err) {
          this.log(`${kind} file ${name} is not readable: ${err.message}; it stays for inspection`);
          continue;
        }
        const remaining = new Map(entries.filter((entry) => entry && entry.key).map((entry) => [entry.key, entry]));
        index.files.set(file, remaining);
        for (const key of remaining.keys()) {
          index.keys.set(key, file);
        }
      }
    }
    for (const name of fs.readdirSync(this.dirs.seen)) {
      const file = path.join(this.dirs.seen, name);
      // a batch (.txt, one key a line) or an empty marker file named by the key (an older version)
      const keys = name.endsWith('.txt') ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [name];
      this.seen.files.set(file, new Set(keys));
      for (const key of keys) {
        this.seen.keys.set(key, file);
      }
    }
    // A journal entry whose record every outbox holds (or the primary stored: then every outbox had it, since a
    // record enters the indexes only once all its outbox files are on disk) goes; one that only some outboxes hold
    // (a kill between two outbox writes) is copied into the others; one no outbox holds is correlated again.
    const repairs = new Map(this.targets.map((target) => [target, []]));
    for (const [key, file] of Array.from(this.journal.keys)) {
      const holders = this.targets.filter((target) => target.index.keys.has(key));
      if (this.seen.keys.has(key) || holders.length === this.targets.length) {
        this.forget(this.journal, key, file);
      } else if (holders.length) {
        const entry = holders[0].index.files.get(holders[0].index.keys.get(key)).get(key);
        for (const target of this.targets.filter((other) => !holders.includes(other))) {
          repairs.get(target).push(entry);
        }
        this.forget(this.journal, key, file);
      } else {
        this.resumable.push(this.journal.files.get(file).get(key));
      }
    }
    for (const [target, entries] of repairs) {
      if (entries.length) {
        const name = batchName(this.now(), '.jsonl');
        writeDurable(target.dir, this.dirs.temp, name, entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n');
        this.indexBatch(target.index, path.join(target.dir, name), entries);
      }
    }
  }

  indexBatch(index, file, entries) {
    index.files.set(file, new Map(entries.map((entry) => [entry.key, entry])));
    for (const entry of entries) {
      index.keys.set(entry.key, file);
    }
  }

  // Drops key from a journal or outbox batch; the batch file goes when nothing in it is left.
  forget(index, key, file) {
    const remaining = index.files.get(file);
    index.keys.delete(key);
    if (!remaining) {
      return;
    }
    remaining.delete(key);
    if (!remaining.size) {
      index.files.delete(file);
      unlinkQuiet(file);
    }
  }

  async flushJournal(events) {
    const name = batchName(this.now(), '.jsonl');
    await writeDurableAsync(this.dirs.journal, this.dirs.temp, name, events.map((event) => JSON.stringify(event)).join('\n') + '\n');
    const file = path.join(this.dirs.journal, name);
    this.journal.files.set(file, new Map(events.map((event) => [event.key, event])));
    const now = this.now();
    for (const event of events) {
      this.journal.keys.set(event.key, file);
      event.hops.journaled = now;
    }
  }

  // The batch goes into every target's outbox; the indexes (and so the drains) see it only once all are on disk.
  async flushOutbox(entries) {
    const name = batchName(this.now(), '.jsonl');
    const text = entries.map((entry) => JSON.stringify(entry)).join('\n') + '\n';
    await Promise.all(this.targets.map((target) => writeDurableAsync(target.dir, this.dirs.temp, name, text)));
    for (const target of this.targets) {
      this.indexBatch(target.index, path.join(target.dir, name), entries);
    }
    const now = this.now();
    for (const entry of entries) {
      entry.hops.outbox_written = now;
    }
  }

  async flushSeen(keys) {
    const name = batchName(this.now(), '.txt');
    await writeDurableAsync(this.dirs.seen, this.dirs.temp, name, keys.join('\n') + '\n');
    const file = path.join(this.dirs.seen, name);
    this.seen.files.set(file, new Set(keys));
    for (const key of keys) {
      this.seen.keys.set(key, file);
    }
  }

  secret(key) {
    const value = this.env[secretEnvName(key)];
    return value === undefined || value === '' ? null : value;
  }

  // --- 1. receive ---------------------------------------------------------------------------------------------
  // Resolves {status: 'accepted', event} | {status: 'duplicate', event_id} | {status: 'dead_letter', reason, message},
  // 'accepted' only once the event's journal batch is durable. A message the MQTT client hook
  // (installPubackAfterJournal) already journaled resolves that result.
  receive(topic, payload) {
    const digest = packetDigest(topic, payload);
    const early = this.preReceived.get(digest);
    if (early && early.length) {
      const result = early.shift();
      if (!early.length) {
        this.preReceived.delete(digest);
      }
      return result;
    }
    return this.accept(topic, payload);
  }

  // Called by the hook inside the MQTT client before it sends PUBACK: the event is journaled before the broker
  // forgets the message. The flow's receive node then gets this result.
  preReceive(topic, payload) {
    const result = this.accept(topic, payload);
    const digest = packetDigest(topic, payload);
    if (!this.preReceived.has(digest)) {
      this.preReceived.set(digest, []);
    }
    this.preReceived.get(digest).push(result);
    if (this.preReceived.size > 100000) {
      this.preReceived.delete(this.preReceived.keys().next().value); // never consumed: the journal keeps the event
    }
    return result;
  }

  subscribed(topic) {
    return (this.config.mqtt.subscriptions || []).some((pattern) => topicPatternMatch(pattern, String(topic)).matched);
  }

  accept(topic, payload) {
    this.stats.received += 1;
    const receivedAt = new Date(this.now()).toISOString();
    const normalised = this.normalise(String(topic || ''), payload);
    if (normalised.error) {
      this.stats.dead_letters += 1;
      return Promise.resolve({
        status: 'dead_letter', reason: normalised.error,
        message: this.deadLetterMessage(normalised.error, topic, payload, receivedAt),
      });
    }
    const event = normalised.event;
    event.received_at = receivedAt;
    event.hops = { received: this.now() };
    if (this.isDuplicate(event.key)) {
      this.stats.duplicates += 1;
      return Promise.resolve({ status: 'duplicate', event_id: event.event_id, key: event.key });
    }
    // In flight from here (a redelivery meanwhile is a duplicate); the promise resolves once the journal batch
    // holding the event is on disk: from then on a SIGKILL loses nothing (resume()).
    this.inflight.add(event.key);
    return this.journalCommit.add(event).then(() => ({ status: 'accepted', event }), (err) => {
      this.inflight.delete(event.key);
      throw err;
    });
  }

  deadLetterMessage(reason, topic, payload, receivedAt) {
    let text;
    if (Buffer.isBuffer(payload)) {
      text = payload.toString('utf8');
    } else if (typeof payload === 'string') {
      text = payload;
    } else {
      try {
        text = JSON.stringify(payload);
      } catch (err) {
        text = String(payload);
      }
    }
    text = text === undefined ? '' : text;
    return {
      topic: this.config.mqtt.dead_letter_topic, qos: 1,
      payload: {
        reason, topic: topic === undefined ? null : String(topic), payload: text.slice(0, DEAD_LETTER_PAYLOAD_CHARS),
        truncated: text.length > DEAD_LETTER_PAYLOAD_CHARS, received_at: receivedAt,
      },
    };
  }

  normalise(topic, payload) {
    let data = payload;
    if (Buffer.isBuffer(data)) {
      data = data.toString('utf8');
    }
    if (typeof data === 'string') {
      try {
        data = JSON.parse(data);
      } catch (err) {
        return { error: 'payload is not JSON' };
      }
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      return { error: 'payload is not a JSON object' };
    }
    const lower = {};
    for (const key of Object.keys(data)) {
      const name = key.toLowerCase();
      if (!(name in lower)) {
        lower[name] = data[key];
      }
    }
    const pick = (field) => {
      for (const alias of FIELD_ALIASES[field]) {
        if (lower[alias] !== undefined && lower[alias] !== null && lower[alias] !== '') {
          return lower[alias];
        }
      }
      return undefined;
    };
    const text = (value) => (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
      ? String(value).trim() : undefined);

    const eventValue = pick('event');
    if (eventValue === undefined) {
      return { error: 'event is missing (keys event, event_type or type)' };
    }
    const eventName = text(eventValue) === undefined ? undefined : text(eventValue).toLowerCase();
    if (eventName === undefined || !EVENT_PATTERN.test(eventName)) {
      return { error: `event ${JSON.stringify(eventValue).slice(0, 80)} is not a name (letters, digits, _ . -)` };
    }
    let topicLine = null;
    for (const pattern of this.config.mqtt.subscriptions || []) {
      const result = topicPatternMatch(pattern, topic);
      if (result.matched) {
        topicLine = result.line;
        break;
      }
    }
    const lineValue = pick('line');
    let line = lineValue === undefined ? undefined : text(lineValue);
    if (lineValue !== undefined && line === undefined) {
      return { error: `line ${JSON.stringify(lineValue).slice(0, 80)} is not a name` };
    }
    if (line === undefined) {
      if (!topicLine) {
        return { error: `line is missing from the payload and topic ${topic.slice(0, 200)} does not name one` };
      }
      line = topicLine;
    } else if (topicLine && topicLine !== line) {
      return { error: `line ${line.slice(0, 64)} in the payload differs from line ${topicLine.slice(0, 64)} in the topic` };
    }
    if (!NAME_PATTERN.test(line)) {
      return { error: `line ${JSON.stringify(line).slice(0, 80)} is not a name (letters, digits, _ . : -; at most 64)` };
    }
    const stationValue = pick('station');
    if (stationValue === undefined) {
      return { error: 'station is missing (keys station, station_id or machine)' };
    }
    const station = text(stationValue);
    if (station === undefined || !NAME_PATTERN.test(station)) {
      return { error: `station ${JSON.stringify(stationValue).slice(0, 80)} is not a name (letters, digits, _ . : -; at most 64)` };
    }
    const severityValue = pick('severity');
    let severity = 'unknown';
    if (severityValue !== undefined) {
      severity = text(severityValue);
      if (severity === undefined || severity.length > 64 || CONTROL_CHARACTERS.test(severity)) {
        return { error: `severity ${JSON.stringify(severityValue).slice(0, 80)} is not a short text or number` };
      }
      severity = severity.toLowerCase();
    }
    const nowNs = BigInt(Math.round(this.now())) * 1000000n;
    const stamp = parseTimestamp(pick('timestamp'), nowNs);
    if (stamp.error) {
      return { error: stamp.error };
    }
    const idValue = pick('id');
    let plcId = null;
    if (idValue !== undefined) {
      plcId = text(idValue);
      if (plcId === undefined || !PLC_ID_PATTERN.test(plcId)) {
        return { error: `event id ${JSON.stringify(idValue).slice(0, 80)} is not printable text of at most 128 characters` };
      }
    }
    const timestampNs = stamp.ns.toString();
    const hashed = sha256Hex(`${line}|${station}|${eventName}|${timestampNs}`);
    const eventId = plcId === null ? hashed : plcId;
    // The dedup key holds the PLC time too: a PLC that restarts its counter must not have new events dropped.
    const key = sha256Hex(`${line}|${station}|${plcId === null ? '' : plcId}|${eventName}|${timestampNs}`).slice(0, 40);
    const selfTest = line === this.selfTest.line && station === this.selfTest.station;
    return {
      event: {
        event_id: eventId, key, line, station, event: eventName, severity, timestamp_ns: timestampNs,
        timestamp: isoFromNs(stamp.ns), self_test: selfTest, topic,
      },
    };
  }

  isDuplicate(key) {
    return this.inflight.has(key) || this.seen.keys.has(key) || this.journal.keys.has(key)
      || this.targets.some((target) => target.index.keys.has(key));
  }

  // Seen batches older than dedup.ttl_s go; returns how many keys went with them.
  pruneSeen() {
    const limit = this.now() - (this.config.dedup && this.config.dedup.ttl_s ? this.config.dedup.ttl_s : 86400) * 1000;
    let removed = 0;
    for (const [file, keys] of Array.from(this.seen.files)) {
      let mtime;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch (err) {
        if (err.code !== 'ENOENT') {
          throw err;
        }
        mtime = 0;
      }
      if (mtime >= limit) {
        continue;
      }
      unlinkQuiet(file);
      this.seen.files.delete(file);
      for (const key of keys) {
        if (this.seen.keys.get(key) === file) {
          this.seen.keys.delete(key);
          removed += 1;
        }
      }
    }
    return removed;
  }

  // --- 2. correlate ---------------------------------------------------------------------------------------------
  cameraFor(event) {
    if (event.self_test && this.selfTest.camera !== undefined) {
      return this.selfTest.camera || null;
    }
    return this.stations.get(`${event.line}\u0000${event.station}`) || null;
  }

  // Resolves the record for one event; never rejects for a camera, Frigate or clip failure (that is recorded).
  async correlate(event) {
    const cameraName = this.cameraFor(event);
    const base = {
      event, camera: cameraName || '', correlation: 'none', frigate_event_id: '', clip_url: '', snapshot_url: '',
      camera_clip: '', duration_seconds: 0, error: '', joined: false, hops: Object.assign({}, event.hops),
    };
    if (!this.triggerEvents.has(event.event)) {
      return base;
    }
    if (!cameraName) {
      if (event.self_test) {
        return base; // a self-test without a camera checks broker, journal, outbox and database only
      }
      return Object.assign(base, {
        correlation: 'trigger_failed',
        error: `no camera for line ${event.line} station ${event.station} (pipeline.stations)`,
      });
    }
    const windowMs = (this.config.recording_window_s || 0) * 1000;
    const now = this.now();
    let window = this.windows.get(cameraName);
    let joined = true;
    if (!window || now - window.openedAt >= windowMs) {
      // The window opens synchronously, before any await: a burst of events for this camera joins one capture.
      joined = false;
      window = { openedAt: now, capture: this.capture(cameraName, event) };
      this.windows.set(cameraName, window);
      this.stats.triggers += 1;
    } else {
      this.stats.joined += 1;
    }
    const outcome = await window.capture;
    const frigate = this.config.frigate;
    const record = Object.assign(base, { joined, camera_clip: outcome.camera_clip || '' });
    Object.assign(record.hops, outcome.hops);
    if (outcome.frigate_event_id) {
      record.frigate_event_id = outcome.frigate_event_id;
      record.duration_seconds = outcome.duration_seconds;
    }
    if (outcome.frigate_event_id && outcome.clip_ready) {
      // Only a record whose clip was found has clip_url: the hourly roll-up counts clips by that field (docs/data.md).
      const id = encodeURIComponent(outcome.frigate_event_id);
      const publicUrl = frigate.public_url.replace(/\/+$/, '');
      record.clip_url = `${publicUrl}/api/events/${id}/clip.mp4`;
      record.snapshot_url = `${publicUrl}/api/events/${id}/snapshot.jpg`;
    }
    const errors = [outcome.trigger_error, outcome.frigate_error, outcome.clip_error].filter(Boolean);
    record.error = errors.join('; ');
    if (outcome.trigger_error || outcome.frigate_error) {
      record.correlation = 'trigger_failed';
    } else {
      record.correlation = outcome.clip_ready ? 'matched' : 'timeout';
    }
    return record;
  }

  // One capture per recording window: camera trigger and Frigate event at the same time, then the clip wait.
  async capture(cameraName, event) {
    const camera = (this.config.cameras || {})[cameraName];
    const outcome = { camera_clip: '', clip_ready: false, duration_seconds: 0, hops: {} };
    const triggering = camera ? this.triggerCamera(cameraName, camera) : Promise.resolve({
      error: `camera ${cameraName} has no entry in pipeline.cameras`,
    });
    const creating = this.createFrigateEvent(camera && camera.frigate_camera ? camera.frigate_camera : cameraName, event);
    const stamp = (hop) => (answer) => {
      if (!answer.error) {
        outcome.hops[hop] = this.now();
      }
      return answer;
    };
    const [trigger, created] = await Promise.all([
      triggering.catch((err) => ({ error: err.message })).then(stamp('camera_triggered')),
      creating.catch((err) => ({ error: err.message })).then(stamp('frigate_event_created'))]);
    if (trigger.error) {
      outcome.trigger_error = `camera ${cameraName}: ${trigger.error}`;
    }
    if (created.error) {
      outcome.frigate_error = `frigate: ${created.error}`;
    } else {
      outcome.frigate_event_id = created.event_id;
      outcome.duration_seconds = created.duration_seconds;
      const waited = await this.waitForClip(created.event_id).catch((err) => ({ error: err.message }));
      outcome.clip_ready = Boolean(waited.ready);
      if (waited.ready) {
        outcome.hops.clip_ready = this.now();
      }
      if (!waited.ready) {
        outcome.clip_error = `frigate: clip not ready after ${this.config.frigate.clip_wait_s} s${waited.error ? ` (${waited.error})` : ''}`;
      }
    }
    if (!trigger.error && camera) {
      outcome.camera_clip = await this.newCameraClip(cameraName, camera, trigger.before).catch(() => '');
    }
    return outcome;
  }

  async sickCall(cameraName, camera, name, data) {
    const password = this.secret(`camera_password:${cameraName}`);
    if (password === null) {
      throw new Error(`no password: secrets lack camera_password:${cameraName} (the nodered role writes it)`);
    }
    const base = camera.url.replace(/\/+$/, '');
    const requestOptions = {
      method: 'POST', timeoutMs: (camera.timeout_s || 5) * 1000, caFile: camera.ca_file || undefined,
      validateCerts: camera.validate_certs !== false,
    };
    const user = camera.user || 'Service';
    for (let attempt = 0; attempt < 2; attempt += 1) {
      let challenge = this.challenges.get(cameraName);
      if (!challenge) {
        const answer = await httpRequest(`${base}/api/getChallenge`, Object.assign({}, requestOptions, { body: { data: { user } } }));
        const parsed = parseJson(answer.body);
        challenge = parsed && parsed.challenge;
        if (answer.status !== 200 || !challenge || typeof challenge.nonce !== 'string') {
          throw new Error(`getChallenge answered HTTP ${answer.status} without a challenge`);
        }
        this.challenges.set(cameraName, challenge);
      }
      const header = {
        user, realm: challenge.realm, nonce: challenge.nonce, opaque: challenge.opaque,
        response: sickResponse(user, challenge.realm, password, challenge.nonce, name,
          Object.prototype.hasOwnProperty.call(challenge, 'salt') ? challenge.salt : null, camera.empty_salt),
      };
      const answer = await httpRequest(`${base}/api/${name}`, Object.assign({}, requestOptions, { body: { header, data: data || {} } }));
      const parsed = parseJson(answer.body) || {};
      const status = parsed.header && typeof parsed.header.status === 'number' ? parsed.header.status : null;
      if (status !== null && SICK_RELOGIN_STATUSES.includes(status) && attempt === 0) {
        this.challenges.delete(cameraName);
        continue;
      }
      return { http: answer.status, status, data: parsed.data || {} };
    }
    throw new Error('unreachable');
  }

  async readEventList(cameraName, camera) {
    const answer = await this.sickCall(cameraName, camera, 'EventList', null);
    const list = answer.data && answer.data.EventList;
    return Array.isArray(list) ? list.map(String) : null;
  }

  async newCameraClip(cameraName, camera, before) {
    const after = await this.readEventList(cameraName, camera);
    if (!after || after.length === 0) {
      return '';
    }
    const known = new Set(before || []);
    const fresh = after.filter((name) => !known.has(name));
    return before ? (fresh.length ? fresh[fresh.length - 1] : '') : after[after.length - 1];
  }

  // EventTriggerEvent with the SICK login: result 0 ok, 2 busy (bounded retry with backoff), 1 recording disabled.
  async triggerCamera(cameraName, camera) {
    const retries = Number.isInteger(camera.retries) ? camera.retries : 2;
    const busyRetries = Number.isInteger(camera.busy_retries) ? camera.busy_retries : 5;
    const busyDelayMs = (camera.busy_retry_s === undefined ? 0.25 : camera.busy_retry_s) * 1000;
    let before = null;
    try {
      before = await this.readEventList(cameraName, camera);
    } catch (err) {
      before = null; // only the camera clip name depends on it
    }
    let networkFailures = 0;
    let busy = 0;
    for (;;) {
      let answer;
      try {
        answer = await this.sickCall(cameraName, camera, 'EventTriggerEvent', {});
      } catch (err) {
        if (err.message.startsWith('no password')) {
          return { error: err.message };
        }
        networkFailures += 1;
        if (networkFailures > retries) {
          return { error: `unreachable after ${networkFailures} attempts: ${err.message}` };
        }
        await sleep(500 * 2 ** (networkFailures - 1));
        continue;
      }
      const result = answer.data ? answer.data.result : undefined;
      const isBusy = result === 2 || answer.http === 400;
      if (isBusy) {
        busy += 1;
        if (busy > busyRetries) {
          return { error: `busy (data.result 2) after ${busy} attempts` };
        }
        await sleep(Math.min(busyDelayMs * 2 ** (busy - 1), 4000));
        continue;
      }
      if (answer.http !== 200) {
        return { error: `EventTriggerEvent answered HTTP ${answer.http}` };
      }
      if (answer.status !== 0) {
        return { error: `EventTriggerEvent refused: status ${answer.status} (${SICK_STATUS_NAMES[answer.status] || 'unknown status'})` };
      }
      if (result === 1) {
        return { error: 'event recording disabled on the camera (data.result 1)' };
      }
      if (result !== 0) {
        return { error: `EventTriggerEvent answered data.result ${result}` };
      }
      return { ok: true, before };
    }
  }

  frigateOptions() {
    const frigate = this.config.frigate;
    return { caFile: frigate.ca_file || undefined, validateCerts: frigate.validate_certs !== false, timeoutMs: (frigate.timeout_s || 10) * 1000 };
  }

  async frigateLogin() {
    const frigate = this.config.frigate;
    const password = this.secret('frigate_password');
    if (password === null) {
      throw new Error('no password: secrets lack frigate_password (the nodered role writes it)');
    }
    const answer = await httpRequest(`${frigate.url.replace(/\/+$/, '')}/api/login`, Object.assign(this.frigateOptions(), {
      method: 'POST', body: { user: frigate.user, password },
    }));
    if (answer.status !== 200) {
      throw new Error(`login as ${frigate.user} answered HTTP ${answer.status}`);
    }
    const cookies = [].concat(answer.headers['set-cookie'] || []);
    const cookie = cookies.map((text) => text.split(';')[0].trim()).find((pair) => pair.includes('=') && pair.split('=')[1]);
    if (!cookie) {
      throw new Error('login answered without a Set-Cookie token');
    }
    this.frigateToken = { cookie, jwt: cookie.slice(cookie.indexOf('=') + 1) };
    return this.frigateToken;
  }

  // A Frigate request with the cached JWT; one new login on 401.
  async frigateRequest(pathname, options) {
    const base = this.config.frigate.url.replace(/\/+$/, '');
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const token = this.frigateToken || await this.frigateLogin();
      const answer = await httpRequest(base + pathname, Object.assign(this.frigateOptions(), options, {
        headers: Object.assign({ Authorization: `Bearer ${token.jwt}`, Cookie: token.cookie }, options.headers || {}),
      }));
      if (answer.status === 401 && attempt === 0) {
        this.frigateToken = null;
        continue;
      }
      return answer;
    }
    throw new Error('unreachable');
  }

  async createFrigateEvent(frigateCamera, event) {
    const frigate = this.config.frigate;
    const body = { duration: frigate.duration_s, include_recording: true, sub_label: `${event.line}/${event.station}/${event.event}` };
    const [major, minor] = String(frigate.version || '0.0').split('.').map((part) => parseInt(part, 10) || 0);
    const preCapture = major > 0 || minor >= 18;
    if (preCapture && frigate.pre_capture_s) {
      body.pre_capture = frigate.pre_capture_s;
    }
    const pathname = `/api/events/${encodeURIComponent(frigateCamera)}/${encodeURIComponent(frigate.label)}/create`;
    let lastError = null;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (attempt > 0) {
        await sleep(500 * 2 ** (attempt - 1));
      }
      let answer;
      try {
        answer = await this.frigateRequest(pathname, { method: 'POST', body });
      } catch (err) {
        if (err.message.startsWith('no password')) {
          return { error: err.message };
        }
        lastError = err.message;
        continue;
      }
      const parsed = parseJson(answer.body) || {};
      if (answer.status === 200 && parsed.event_id) {
        return { event_id: String(parsed.event_id), duration_seconds: (frigate.duration_s || 0) + (preCapture ? (frigate.pre_capture_s || 0) : 0) };
      }
      lastError = `creating the event on ${frigateCamera} answered HTTP ${answer.status}${parsed.message ? `: ${String(parsed.message).slice(0, 200)}` : ''}`;
      if (answer.status < 500) {
        break;
      }
    }
    return { error: lastError };
  }

  // A clip is ready only when the event has ended at least clip_settle_s ago (Frigate serves a PARTIAL clip with
  // 200 while the event runs or before its last recording segment lands) AND the clip answers 200/206 with a body
  // (0.17+ answers 400 "No recordings found" before any recording, 0.16 an empty 200; 400 and 404 mean "not yet").
  // Polled every clip_poll_s, clip_wait_s long.
  async waitForClip(eventId) {
    const frigate = this.config.frigate;
    const deadline = this.now() + (frigate.clip_wait_s || 0) * 1000;
    const pollMs = (frigate.clip_poll_s || 2) * 1000;
    const settleMs = (frigate.clip_settle_s === undefined || frigate.clip_settle_s === null ? 10 : Number(frigate.clip_settle_s)) * 1000;
    const id = encodeURIComponent(eventId);
    let lastError = null;
    for (;;) {
      try {
        lastError = await this.clipState(id, settleMs);
        if (lastError === true) {
          return { ready: true };
        }
      } catch (err) {
        lastError = err.message;
      }
      if (this.now() + pollMs > deadline) {
        return { ready: false, error: lastError };
      }
      await sleep(pollMs);
    }
  }

  // true when the clip is ready, else why not (null: simply not yet).
  async clipState(id, settleMs) {
    const event = await this.frigateRequest(`/api/events/${id}`, { method: 'GET' });
    if (event.status === 404) {
      return null; // Frigate writes a manual event to its database asynchronously
    }
    if (event.status !== 200) {
      return `event answered HTTP ${event.status}`;
    }
    const parsed = parseJson(event.body) || {};
    const endTime = Number(parsed.end_time);
    if (parsed.end_time === null || parsed.end_time === undefined || !Number.isFinite(endTime)) {
      return 'the event has not ended yet';
    }
    if (this.now() < endTime * 1000 + settleMs) {
      return null;
    }
    const answer = await this.frigateRequest(`/api/events/${id}/clip.mp4`, {
      method: 'GET', headers: { Range: 'bytes=0-0' }, headersOnly: true,
    });
    if (answer.status === 200 || answer.status === 206) {
      const range = /\/(\d+)\s*$/.exec(String(answer.headers['content-range'] || ''));
      const size = range ? Number(range[1]) : Number(answer.headers['content-length'] || 0);
      return size > 0 ? true : `clip answered HTTP ${answer.status} with no bytes`;
    }
    return answer.status === 400 || answer.status === 404 ? null : `clip answered HTTP ${answer.status}`;
  }

  // --- 3. record -> outbox ------------------------------------------------------------------------------------------
  // Empty text fields are left out (a field's presence is what count() sees); correlation, event_id and self_test
  // are always written, duration_seconds with a Frigate event.
  pointOf(record) {
    const event = record.event;
    const fields = { correlation: record.correlation, event_id: event.event_id, self_test: Boolean(event.self_test) };
    const optional = {
      clip_url: record.clip_url, snapshot_url: record.snapshot_url, frigate_event_id: record.frigate_event_id,
      camera_clip: record.camera_clip, error: String(record.error || '').slice(0, 1024),
    };
    for (const [key, value] of Object.entries(optional)) {
      if (value) {
        fields[key] = value;
      }
    }
    if (record.frigate_event_id) {
      fields.duration_seconds = Number(record.duration_seconds) || 0;
    }
    const tags = { line: event.line, station: event.station, camera: record.camera, event: event.event, severity: event.severity };
    if (this.plant) {
      tags.plant = this.plant; // central tells the plants apart by it (an empty one is left out)
    }
    return lineProtocol(this.config.influxdb.measurement, tags, fields, event.timestamp_ns);
  }

  // The record goes into the outbox durably (group commit), then the journal entry goes: at every instant one of
  // them holds it. Resolves the outbox entry once its batch is on disk.
  async record(record) {
    const event = record.event;
    const entry = {
      key: event.key, event_id: event.event_id, line: event.line, station: event.station, correlation: record.correlation,
      self_test: Boolean(event.self_test), frigate_event_id: record.frigate_event_id || '', line_protocol: this.pointOf(record),
      hops: Object.assign({}, event.hops, record.hops || {}),
      webhook: {
        event_id: event.event_id, line: event.line, station: event.station, event: event.event, severity: event.severity,
        timestamp: event.timestamp, camera: record.camera, correlation: record.correlation, clip_url: record.clip_url,
        snapshot_url: record.snapshot_url, frigate_event_id: record.frigate_event_id, camera_clip: record.camera_clip,
        error: record.error, self_test: Boolean(event.self_test),
      },
    };
    await this.outboxCommit.add(entry);
    const journalFile = this.journal.keys.get(event.key);
    if (journalFile) {
      this.forget(this.journal, event.key, journalFile);
    }
    this.inflight.delete(event.key);
    return entry;
  }

  // --- 4. drain ---------------------------------------------------------------------------------------------------
  async writePoints(target, lines) {
    const influx = target.influx;
    const base = influx.url.replace(/\/+$/, '');
    const headers = { 'Content-Type': 'text/plain; charset=utf-8' };
    let url;
    if (Number(influx.api_version) === 2) {
      const key = `influxdb_token${target.secretSuffix}`;
      const token = this.secret(key);
      if (token === null) {
        throw new Error(`no token: secrets lack ${key} (the nodered role writes it)`);
      }
      headers.Authorization = `Token ${token}`;
      url = `${base}/api/v2/write?org=${encodeURIComponent(influx.org)}&bucket=${encodeURIComponent(influx.bucket)}&precision=ns`;
    } else {
      const key = `influxdb_password${target.secretSuffix}`;
      const password = this.secret(key);
      if (password === null) {
        throw new Error(`no password: secrets lack ${key} (the nodered role writes it)`);
      }
      headers.Authorization = `Basic ${Buffer.from(`${influx.user}:${password}`).toString('base64')}`;
      const rp = influx.retention_policy ? `&rp=${encodeURIComponent(influx.retention_policy)}` : '';
      url = `${base}/write?db=${encodeURIComponent(influx.database)}${rp}&precision=ns`;
    }
    const answer = await httpRequest(url, {
      method: 'POST', headers, body: lines.join('\n'), caFile: influx.ca_file || undefined,
      validateCerts: influx.validate_certs !== false, timeoutMs: (influx.timeout_s || 10) * 1000,
    });
    return { status: answer.status, text: answer.body.toString('utf8').slice(0, 300) };
  }

  backoff(target, reason) {
    const outbox = this.config.outbox;
    const min = (outbox.backoff_min_s || 1) * 1000;
    const max = (outbox.backoff_max_s || 30) * 1000;
    target.backoffMs = target.backoffMs ? Math.min(target.backoffMs * 2, max) : min;
    target.nextAttemptAt = this.now() + target.backoffMs;
    target.stats.write_failures += 1;
    target.lastWriteError = reason;
    if (target.primary) {
      this.stats.write_failures += 1;
    }
    this.log(`InfluxDB ${target.name} write failed (${reason}); next attempt in ${target.backoffMs / 1000} s, `
      + `the records stay in its outbox (${target.index.keys.size} pending)`);
  }

  // A record the target refused (400/422): kept in dead_letter/ (a secondary's as <name>-<key>.json) and published.
  async deadLetterRecord(target, entry, reason, result) {
    const { hops, ...kept } = entry; // eslint-disable-line no-unused-vars
    const name = target.primary ? `${entry.key}.json` : `${target.name}-${entry.key}.json`;
    writeDurable(this.dirs.deadLetter, this.dirs.temp, name, JSON.stringify(Object.assign(kept, { target: target.name })));
    if (target.primary) {
      await this.seenCommit.add(entry.key);
      this.stats.dead_letters += 1;
    }
    this.forget(target.index, entry.key, target.index.keys.get(entry.key));
    target.stats.dead_letters += 1;
    result.dead_letters.push(this.deadLetterMessage(target.primary ? reason : `InfluxDB ${target.name}: ${reason}`, null,
      entry.line_protocol, new Date(this.now()).toISOString()));
  }

  // Stored in the primary: the keys go into the seen-set (durably, one batch), then out of the outbox; then the acks.
  // Stored in a secondary: out of its outbox, nothing else (the ack belongs to the primary).
  async acknowledge(target, entries, result) {
    if (!target.primary) {
      for (const entry of entries) {
        this.forget(target.index, entry.key, target.index.keys.get(entry.key));
      }
      target.stats.stored += entries.length;
      return;
    }
    await Promise.all(entries.map((entry) => this.seenCommit.add(entry.key)));
    const stored = this.now();
    for (const entry of entries) {
      this.forget(target.index, entry.key, target.index.keys.get(entry.key));
      this.stats.stored += 1;
      target.stats.stored += 1;
      const hops = Object.assign({}, entry.hops, { stored });
      const payload = {
        event_id: entry.event_id, stored: true, correlation: entry.correlation, line: entry.line, station: entry.station,
        self_test: Boolean(entry.self_test), hops,
      };
      if (entry.frigate_event_id) {
        payload.frigate_event_id = entry.frigate_event_id;
      }
      result.acks.push({ topic: this.config.mqtt.ack_topic.replace('{line}', entry.line), qos: 1, payload });
      result.stored.push(entry);
    }
  }

  pendingEntries(target, limit) {
    const entries = [];
    for (const remaining of target.index.files.values()) {
      for (const entry of remaining.values()) {
        if (entries.length >= limit) {
          return entries;
        }
        entries.push(entry);
      }
    }
    return entries;
  }

  // Returns {acks, dead_letters, stored, pending} of the primary target (the local data layer); records stay in an
  // outbox until that target answered 204 for them. Each target drains on its own: at most one drain per target
  // runs, a call meanwhile makes it go round once more (a record() kicks a drain at once), and a secondary target
  // (central) is only started here, never awaited, so its outage or slowness never holds the primary's writes and
  // acks; its dead letters come with the next call's result.
  async drain() {
    const result = { acks: [], dead_letters: [], stored: [], pending: 0 };
    for (const target of this.targets.slice(1)) {
      this.runDrain(target, { acks: [], dead_letters: this.secondaryDeadLetters, stored: [] })
        .catch((err) => this.log(`InfluxDB ${target.name} drain: ${err.message}`));
    }
    result.dead_letters.push(...this.secondaryDeadLetters.splice(0, this.secondaryDeadLetters.length));
    await this.runDrain(this.targets[0], result);
    result.pending = this.outbox.keys.size;
    if (result.stored.length && this.config.webhook && this.config.webhook.url) {
      this.callWebhook(result.stored.map((entry) => entry.webhook)).catch((err) => this.log(`webhook: ${err.message}`));
    }
    return result;
  }

  async runDrain(target, result) {
    if (target.draining) {
      target.drainAgain = true;
      return;
    }
    if (this.now() < target.nextAttemptAt) {
      return;
    }
    target.draining = true;
    if (target.primary) {
      this.stats.drains = (this.stats.drains || 0) + 1;
    }
    try {
      do {
        target.drainAgain = false;
        await this.drainBatches(target, result);
      } while (target.drainAgain && this.now() >= target.nextAttemptAt);
      if (target.primary && this.now() - this.lastPrune > 60000) {
        this.lastPrune = this.now();
        this.pruneSeen();
      }
    } finally {
      target.draining = false;
    }
  }

  async drainBatches(target, result) {
    const batch = this.config.outbox.batch || 500;
    for (let round = 0; round < 100; round += 1) {
      const entries = this.pendingEntries(target, batch);
      if (!entries.length) {
        return;
      }
      const ok = await this.writeEntries(target, entries, result);
      if (!ok) {
        return;
      }
    }
  }

  // true when every entry was stored or dead-lettered; false after a failure that backs off.
  async writeEntries(target, entries, result) {
    let answer;
    try {
      answer = await this.writePoints(target, entries.map((entry) => entry.line_protocol));
    } catch (err) {
      this.backoff(target, err.message);
      return false;
    }
    if (answer.status === 204) {
      target.backoffMs = 0;
      target.nextAttemptAt = 0;
      await this.acknowledge(target, entries, result);
      return true;
    }
    // 400/422 name a bad record (parse error, field type conflict): find it one by one, dead-letter it, keep the rest.
    // Every other answer (auth, missing database, 5xx) is about the server: back off, lose nothing.
    if (answer.status === 400 || answer.status === 422) {
      if (entries.length === 1) {
        await this.deadLetterRecord(target, entries[0], `InfluxDB refused the record: HTTP ${answer.status} ${answer.text}`, result);
        return true;
      }
      for (const entry of entries) {
        if (!await this.writeEntries(target, [entry], result)) {
          return false;
        }
      }
      return true;
    }
    this.backoff(target, `HTTP ${answer.status} ${answer.text}`);
    return false;
  }

  async callWebhook(records) {
    const hook = this.config.webhook;
    const token = this.secret('webhook_token');
    const retries = Number.isInteger(hook.retries) ? hook.retries : 3;
    for (const record of records) {
      for (let attempt = 0; attempt <= retries; attempt += 1) {
        try {
          const answer = await httpRequest(hook.url, {
            method: 'POST', body: record, caFile: hook.ca_file || undefined, timeoutMs: (hook.timeout_s || 5) * 1000,
            headers: token === null ? {} : { Authorization: `Bearer ${token}` },
          });
          if (answer.status >= 200 && answer.status < 300) {
            break;
          }
          if (attempt === retries) {
            this.log(`webhook refused event ${record.event_id}: HTTP ${answer.status}`);
          }
        } catch (err) {
          if (attempt === retries) {
            this.log(`webhook unreachable for event ${record.event_id}: ${err.message}`);
          }
        }
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  // --- 5. resume ----------------------------------------------------------------------------------------------------
  // Journal entries of a previous process (accepted, not yet in the outbox): correlate them again.
  resume() {
    const events = [];
    for (const event of this.resumable.splice(0, this.resumable.length)) {
      if (this.inflight.has(event.key) || !this.journal.keys.has(event.key)) {
        continue;
      }
      event.resumed = true;
      event.hops = { received: event.hops && event.hops.received };
      if (event.hops.received === undefined) {
        delete event.hops.received;
      }
      this.inflight.add(event.key);
      events.push(event);
    }
    return events;
  }
}

function packetDigest(topic, payload) {
  let bytes;
  if (Buffer.isBuffer(payload)) {
    bytes = payload;
  } else if (typeof payload === 'string') {
    bytes = Buffer.from(payload, 'utf8');
  } else {
    bytes = Buffer.from(JSON.stringify(payload === undefined ? null : payload), 'utf8');
  }
  return crypto.createHash('sha256').update(String(topic)).update(Buffer.from([0])).update(bytes).digest('hex');
}

// Node-RED's MQTT node acknowledges a QoS 1 message (PUBACK) as soon as it arrives, before the flow runs: a kill in
// between would lose a message the broker already forgot. This hook journals every QoS >= 1 message on a pipeline
// subscription inside MQTT.js's handleMessage, which MQTT.js calls before it sends PUBACK; a journal failure sends no
// PUBACK (the broker delivers the message again). `mqttModule` defaults to the mqtt package Node-RED itself loads.
//
// Group commit through MQTT.js: MQTT.js reads the next packet only after the PUBACK of the previous one was handed
// to _sendPacket, so waiting inside handleMessage would journal one message per batch. Instead handleMessage returns
// at once and the PUBACK is HELD in _sendPacket until the journal batch holding that message is on disk (MQTT.js
// carries on with the next packets meanwhile, which join the next batch). PUBACKs keep the order of the PUBLISHes
// (batches complete in order). A PUBACK held across a reconnect is dropped: the broker delivers the message again
// and the journal/seen-set makes it a duplicate. Without _sendPacket the hook waits inside handleMessage.
// Returns what happened, for the log.
function installPubackAfterJournal(configPath, mqttModule) {
  let mqtt = mqttModule;
  if (!mqtt) {
    const paths = [require.main && require.main.filename ? path.dirname(require.main.filename) : null, process.cwd()]
      .filter(Boolean);
    try {
      mqtt = require(require.resolve('mqtt', { paths })); // eslint-disable-line global-require
    } catch (err) {
      return `not installed: the mqtt package was not found from ${paths.join(', ')} (PUBACK comes before the journal)`;
    }
  }
  const proto = mqtt && mqtt.MqttClient && mqtt.MqttClient.prototype;
  if (!proto || typeof proto.handleMessage !== 'function') {
    return 'not installed: this mqtt package has no MqttClient.handleMessage (PUBACK comes before the journal)';
  }
  if (proto.mingJournalHook) {
    return 'installed';
  }
  const original = proto.handleMessage;
  const holdInSend = typeof proto._sendPacket === 'function'; // eslint-disable-line no-underscore-dangle
  proto.handleMessage = function handleMessage(packet, callback) {
    if (packet && packet.cmd === 'publish' && packet.qos > 0) {
      let journaled;
      try {
        const pipeline = shared(configPath);
        if (pipeline.subscribed(packet.topic)) {
          journaled = pipeline.preReceive(packet.topic, packet.payload);
        }
      } catch (err) {
        return callback(err);
      }
      if (journaled && holdInSend && packet.qos === 1 && packet.messageId !== undefined) {
        if (!this.mingHeldAcks) {
          Object.defineProperty(this, 'mingHeldAcks', { value: new Map() });
        }
        this.mingHeldAcks.set(packet.messageId, { journaled, stream: this.stream });
        journaled.catch(() => undefined); // handled where the PUBACK is sent (or not)
      } else if (journaled) {
        // the original (and so PUBACK) only once the journal batch holding this message is on disk
        return journaled.then(() => original.call(this, packet, callback), (err) => callback(err));
      }
    }
    return original.call(this, packet, callback);
  };
  if (holdInSend) {
    const send = proto._sendPacket; // eslint-disable-line no-underscore-dangle
    proto._sendPacket = function sendPacket(packet, cb, ...rest) { // eslint-disable-line no-underscore-dangle
      const held = packet && packet.cmd === 'puback' && this.mingHeldAcks ? this.mingHeldAcks.get(packet.messageId) : undefined;
      if (!held) {
        return send.call(this, packet, cb, ...rest);
      }
      this.mingHeldAcks.delete(packet.messageId);
      held.journaled.then(() => {
        if (this.stream === held.stream && this.connected !== false) {
          send.call(this, packet, () => undefined, ...rest);
        }
      }, () => undefined); // not journaled: no PUBACK, the broker delivers the message again
      if (typeof cb === 'function') {
        cb(); // MQTT.js reads the next packet now; its journal write joins the next batch
      }
      return undefined;
    };
  }
  Object.defineProperty(proto, 'mingJournalHook', { value: true });
  return 'installed';
}

function load(configPath, options) {
  const file = configPath || DEFAULT_CONFIG_PATH;
  let config;
  try {
    config = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the pipeline configuration ${file}: ${err.code || err.message}`);
  }
  return new Pipeline(config, options);
}

// One pipeline per configuration file in this process: every function node of the flow shares its state.
const instances = new Map();

function shared(configPath, options) {
  const file = configPath || DEFAULT_CONFIG_PATH;
  if (!instances.has(file)) {
    instances.set(file, load(file, options));
  }
  return instances.get(file);
}

module.exports = {
  load, shared, Pipeline, installPubackAfterJournal, packetDigest, secretEnvName, sickHa1, sickResponse, lineProtocol, parseTimestamp, isoFromNs,
  topicPatternMatch, httpRequest, DEFAULT_CONFIG_PATH,
};
