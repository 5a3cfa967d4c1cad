// Copyright (c) 2025, sensingcam.ming maintainers
// GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
// SPDX-License-Identifier: GPL-3.0-or-later
//
// Runs roles/nodered/files/ming_pipeline.js through named cases and prints one JSON object {case: observations}.
// test_ming_pipeline.py starts it once (the lab image's node when built, the same runtime as production) and
// asserts on the observations. Usage: node pipeline_cases.js <library> <work dir> <params JSON file>
// The camera, Frigate and InfluxDB stubs here are small local HTTP servers, not the real services.
'use strict';

const fs = require('fs');
const path = require('path');
const http = require('http');
const childProcess = require('child_process');

const [libraryPath, workDir, paramsFile] = process.argv.slice(2);
const ming = require(path.resolve(libraryPath));
const params = JSON.parse(fs.readFileSync(paramsFile, 'utf8'));

function listen(handler) {
  return new Promise((resolve) => {
    const server = http.createServer((request, response) => {
      const chunks = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => handler(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    server.keepAliveTimeout = 100;
    server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${server.address().port}` }));
  });
}

function reply(response, status, body, headers) {
  response.writeHead(status, Object.assign({ 'Content-Type': 'application/json' }, headers || {}));
  response.end(body === undefined ? '' : JSON.stringify(body));
}

// A camera stub: answers getChallenge and methods, counts triggers; `results` is the EventTriggerEvent result queue.
async function cameraStub(results) {
  const state = { triggers: 0, attempts: 0, results: results.slice() };
  const stub = await listen((request, body, response) => {
    if (request.url === '/api/getChallenge') {
      return reply(response, 200, { challenge: { realm: 'SICK Sensor', nonce: 'n1', opaque: 'o1' }, header: { status: 0 } });
    }
    if (request.url === '/api/EventTriggerEvent') {
      state.attempts += 1;
      const result = state.results.length ? state.results.shift() : 0;
      if (result === 0) {
        state.triggers += 1;
      }
      return reply(response, 200, { header: { status: 0, message: 'Ok' }, data: { result } });
    }
    if (request.url === '/api/EventList') {
      return reply(response, 200, { header: { status: 0 }, data: { EventList: Array.from({ length: state.triggers }, (_, i) => `event_${i + 1}.mp4`) } });
    }
    return reply(response, 404, { header: { status: 5 } });
  });
  stub.state = state;
  return stub;
}

// A Frigate stub: login cookie, create (counted per camera), clip 404 for `clipNotReady` polls then 200 (-1: never).
async function frigateStub(clipNotReady) {
  const state = { logins: 0, creates: [], clipPolls: 0, unauthorised: 0 };
  const stub = await listen((request, body, response) => {
    if (request.url === '/api/login') {
      state.logins += 1;
      return reply(response, 200, undefined, { 'Set-Cookie': 'frigate_token=jwt-1; Path=/; HttpOnly' });
    }
    if (request.headers.authorization !== 'Bearer jwt-1') {
      state.unauthorised += 1;
      return reply(response, 401, { success: false });
    }
    const create = /^\/api\/events\/([^/]+)\/([^/]+)\/create$/.exec(request.url);
    if (create) {
      state.creates.push({ camera: create[1], label: create[2], body: JSON.parse(body) });
      return reply(response, 200, { success: true, event_id: `17000000${state.creates.length}.5-abc123` });
    }
    if (/clip\.mp4$/.test(request.url)) {
      state.clipPolls += 1;
      if (clipNotReady < 0 || state.clipPolls <= clipNotReady) {
        return reply(response, 404, { success: false });
      }
      response.writeHead(206, { 'Content-Type': 'video/mp4' });
      return response.end('x');
    }
    return reply(response, 404, {});
  });
  stub.state = state;
  return stub;
}

// An InfluxDB stub: answers statuses from the queue (then 204), keeps every request, refuses lines holding 'BAD'.
async function influxStub(statuses) {
  const state = { requests: [], statuses: statuses.slice() };
  const stub = await listen((request, body, response) => {
    state.requests.push({ url: request.url, authorization: request.headers.authorization || '', body });
    const status = state.statuses.length ? state.statuses.shift() : (body.includes('BAD') ? 400 : 204);
    response.writeHead(status, { 'Content-Type': 'application/json' });
    response.end(status === 204 ? '' : JSON.stringify({ error: status === 400 ? 'unable to parse' : 'down' }));
  });
  stub.state = state;
  return stub;
}

let dirCounter = 0;

function config(overrides) {
  dirCounter += 1;
  const base = {
    version: 1,
    mqtt: {
      broker: { host: '127.0.0.1', port: 1883, tls: false, client_id: 'ming-nodered-test', user: 'nodered' },
      subscriptions: ['factory/line/+/event', 'machine/alert/+'], qos: 1,
      ack_topic: 'factory/line/{line}/event/ack', dead_letter_topic: 'factory/dead_letter',
    },
    events: ['stop', 'fault'],
    stations: [
      { line: 'line1', station: 'st10', camera: 'cam-a' },
      { line: 'line1', station: 'st20', camera: 'cam-a' },
      { line: 'line2', station: 'st10', camera: 'cam-b' },
      { line: 'line3', station: 'st10', camera: 'cam-c' },
    ],
    cameras: {},
    frigate: {
      url: 'http://127.0.0.1:9', user: 'ming-nodered', label: 'plc_event', version: '0.18.0', duration_s: 20,
      pre_capture_s: 5, public_url: 'https://nvr.plant.example:8971', ca_file: null, validate_certs: true,
      clip_wait_s: 1, clip_poll_s: 0.02,
    },
    recording_window_s: 20,
    influxdb: {
      api_version: 1, url: 'http://127.0.0.1:9', database: 'ming', retention_policy: '', org: '', bucket: '',
      measurement: 'machine_events', user: 'nodered', ca_file: null,
    },
    outbox: { dir: path.join(workDir, `outbox-${dirCounter}`), batch: 500, backoff_min_s: 0.2, backoff_max_s: 1 },
    dedup: { ttl_s: 86400 },
    self_test: { line: 'ming-selftest', station: 'ming-selftest', camera: null },
    webhook: null,
  };
  const merged = JSON.parse(JSON.stringify(base));
  for (const [key, value] of Object.entries(overrides || {})) {
    merged[key] = typeof value === 'object' && value !== null && !Array.isArray(value) && merged[key]
      ? Object.assign(merged[key], value) : value;
  }
  return merged;
}

const ENV = {
  MING_SECRET_CAMERA_PASSWORD_CAM_A: 'cam-secret', MING_SECRET_CAMERA_PASSWORD_CAM_B: 'cam-secret',
  MING_SECRET_CAMERA_PASSWORD_CAM_C: 'cam-secret', MING_SECRET_FRIGATE_PASSWORD: 'frigate-secret',
  MING_SECRET_INFLUXDB_PASSWORD: 'influx-secret', MING_SECRET_INFLUXDB_TOKEN: 'influx-token',
};

function pipeline(overrides, extra) {
  return new ming.Pipeline(config(overrides), Object.assign({ env: ENV }, extra || {}));
}

function event(line, station, name, timestamp, more) {
  return JSON.stringify(Object.assign({ event: name, line, station, severity: 'high', timestamp }, more || {}));
}

function listDir(dir) {
  return fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
}

const NOW_S = Math.floor(Date.now() / 1000);

const cases = {
  // Each plant shape and each malformed reason, from the table the test passes in.
  async normalise() {
    const p = pipeline();
    return params.normalise.map(([topic, payload]) => {
      const result = p.receive(topic, payload);
      if (result.status === 'accepted') {
        const e = result.event;
        return { status: 'accepted', line: e.line, station: e.station, event: e.event, severity: e.severity, timestamp_ns: e.timestamp_ns, event_id: e.event_id, self_test: e.self_test };
      }
      return { status: result.status, reason: result.reason || '', message: result.message || null };
    });
  },

  async stable_id() {
    const payload = event('line1', 'st10', 'stop', NOW_S);
    const first = pipeline().receive('factory/line/line1/event', payload).event;
    const second = pipeline().receive('factory/line/line1/event', payload).event;
    return { first: first.event_id, second: second.event_id, timestamp_ns: first.timestamp_ns };
  },

  // Duplicates are dropped in the same process, after a restart (new load on the same dir), after storage, and a
  // new timestamp (a PLC that restarted its id counter) is a new event.
  async dedup() {
    const overrides = {};
    const p = pipeline(overrides);
    const dir = p.config.outbox.dir;
    const payload = event('line1', 'st10', 'stop', NOW_S, { id: 'plc-7' });
    const out = { first: p.receive('factory/line/line1/event', payload).status };
    out.again = p.receive('factory/line/line1/event', payload).status;
    const restarted = new ming.Pipeline(Object.assign(config(), { outbox: Object.assign(config().outbox, { dir }) }), { env: ENV });
    out.after_restart = restarted.receive('factory/line/line1/event', payload).status;
    out.same_id_new_time = restarted.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S + 1, { id: 'plc-7' })).status;
    // Pruned after dedup.ttl_s: a clock two days ahead prunes the markers.
    const later = new ming.Pipeline(Object.assign(config(), { outbox: Object.assign(config().outbox, { dir }) }), {
      env: ENV, now: () => Date.now() + 2 * 86400 * 1000,
    });
    for (const name of listDir(path.join(dir, 'journal'))) {
      fs.unlinkSync(path.join(dir, 'journal', name));
    }
    out.pruned = later.pruneSeen();
    out.after_ttl = later.receive('factory/line/line1/event', payload).status;
    return out;
  },

  // The journal entry is on disk when receive() returns; a SIGKILL right after loses nothing: resume() finds it.
  async journal_and_resume() {
    const influx = await influxStub([]);
    const frigate = await frigateStub(0);
    const camera = await cameraStub([]);
    const overrides = { influxdb: { url: influx.url }, frigate: { url: frigate.url }, cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 0 } } };
    const cfg = config(overrides);
    const cfgFile = path.join(workDir, `pipeline-${dirCounter}.json`);
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    const p = new ming.Pipeline(cfg, { env: ENV });
    const result = p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S));
    const out = { journal_after_receive: listDir(path.join(cfg.outbox.dir, 'journal')), key: result.event.key };
    // A child process receives one event and SIGKILLs itself at once.
    const script = `const m=require(${JSON.stringify(path.resolve(libraryPath))});` +
      `const p=m.load(${JSON.stringify(cfgFile)},{env:${JSON.stringify(ENV)}});` +
      `p.receive('factory/line/line2/event',${JSON.stringify(event('line2', 'st10', 'fault', NOW_S))});` +
      'process.kill(process.pid,"SIGKILL");';
    const child = childProcess.spawnSync(process.execPath, ['-e', script]);
    out.child_signal = child.signal;
    out.journal_after_kill = listDir(path.join(cfg.outbox.dir, 'journal')).length;
    const resumed = ming.load(cfgFile, { env: ENV });
    const events = resumed.resume();
    out.resumed = events.map((e) => `${e.line}/${e.station}/${e.event}`).sort();
    for (const e of events) {
      resumed.record(await resumed.correlate(e));
    }
    out.journal_after_record = listDir(path.join(cfg.outbox.dir, 'journal')).length;
    out.outbox_after_record = listDir(path.join(cfg.outbox.dir, 'outbox')).length;
    const drained = await resumed.drain();
    out.acks = drained.acks;
    out.outbox_after_drain = listDir(path.join(cfg.outbox.dir, 'outbox')).length;
    out.written = influx.state.requests.map((r) => r.body);
    out.redelivered = resumed.receive('factory/line/line2/event', event('line2', 'st10', 'fault', NOW_S)).status;
    influx.server.close(); frigate.server.close(); camera.server.close();
    return out;
  },

  // The MQTT client hook journals a QoS 1 message before MQTT.js's handleMessage callback (which sends PUBACK);
  // the flow's receive() then gets that result (accepted, not a duplicate); QoS 0 and other topics are left alone.
  async puback_after_journal() {
    const cfg = config();
    const cfgFile = path.join(workDir, `pipeline-hook-${dirCounter}.json`);
    fs.writeFileSync(cfgFile, JSON.stringify(cfg));
    ming.shared(cfgFile, { env: ENV });
    class MqttClient {
      handleMessage(packet, callback) {
        callback();
      }
    }
    const installed = ming.installPubackAfterJournal(cfgFile, { MqttClient });
    const again = ming.installPubackAfterJournal(cfgFile, { MqttClient });
    const journal = path.join(cfg.outbox.dir, 'journal');
    const payload = Buffer.from(event('line1', 'st10', 'stop', NOW_S));
    const journalAtPuback = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line1/event', payload }, () => resolve(listDir(journal).length)));
    const qos0 = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 0, topic: 'factory/line/line2/event', payload: Buffer.from(event('line2', 'st10', 'stop', NOW_S)) },
      () => resolve(listDir(journal).length)));
    const other = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line2/event/ack', payload: Buffer.from('{}') }, () => resolve(listDir(journal).length)));
    const flowSees = ming.shared(cfgFile).receive('factory/line/line1/event', payload).status;
    const second = ming.shared(cfgFile).receive('factory/line/line1/event', payload).status;
    // A journal that cannot be written: no PUBACK (the callback gets the error).
    fs.rmSync(journal, { recursive: true });
    fs.writeFileSync(journal, 'not a directory');
    const failed = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line3/event', payload: Buffer.from(event('line3', 'st10', 'stop', NOW_S)) },
      (err) => resolve(err ? 'error, no puback' : 'puback')));
    return { installed, again, journal_at_puback: journalAtPuback, qos0, other, flow_sees: flowSees, second, failed };
  },

  async sick_login() {
    return params.sick_login.map(([user, realm, password, nonce, name, salt, emptySalt]) => ming.sickResponse(user, realm, password, nonce, name, salt, emptySalt));
  },

  // data.result 2 (busy) twice, then 0: retried with backoff, one trigger, matched.
  async busy_retried() {
    const camera = await cameraStub([2, 2, 0]);
    const frigate = await frigateStub(0);
    const p = pipeline({ frigate: { url: frigate.url }, cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 1, busy_retry_s: 0.01 } } });
    const accepted = p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S));
    const record = await p.correlate(accepted.event);
    camera.server.close(); frigate.server.close();
    return { attempts: camera.state.attempts, triggers: camera.state.triggers, correlation: record.correlation, error: record.error, camera_clip: record.camera_clip };
  },

  // Busy for longer than the bounded retries: trigger_failed, still a Frigate event and clip.
  async busy_exhausted() {
    const camera = await cameraStub([2, 2, 2, 2]);
    const frigate = await frigateStub(0);
    const p = pipeline({ frigate: { url: frigate.url }, cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 1, busy_retries: 2, busy_retry_s: 0.01 } } });
    const record = await p.correlate(p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S)).event);
    camera.server.close(); frigate.server.close();
    return { attempts: camera.state.attempts, correlation: record.correlation, error: record.error, frigate_event_id: record.frigate_event_id };
  },

  // Three events on cam-a inside its window (two stations), one on cam-b: two triggers, two Frigate events.
  async recording_window() {
    const cameraA = await cameraStub([]);
    const cameraB = await cameraStub([]);
    const frigate = await frigateStub(2);
    const cameras = {
      'cam-a': { url: cameraA.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 0 },
      'cam-b': { url: cameraB.url, user: 'Service', frigate_camera: 'cam-b', timeout_s: 2, retries: 0 },
    };
    const p = pipeline({ frigate: { url: frigate.url }, cameras, recording_window_s: 0.5 });
    const inputs = [['line1', 'st10', 'stop', NOW_S], ['line1', 'st20', 'fault', NOW_S + 0.1], ['line1', 'st10', 'fault', NOW_S + 0.2], ['line2', 'st10', 'stop', NOW_S]];
    const events = inputs.map(([line, station, name, ts]) => p.receive(`factory/line/${line}/event`, event(line, station, name, ts)).event);
    const records = await Promise.all(events.map((e) => p.correlate(e)));
    await new Promise((resolve) => setTimeout(resolve, 600));
    const late = await p.correlate(p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S + 5)).event);
    cameraA.server.close(); cameraB.server.close(); frigate.server.close();
    return {
      triggers_a: cameraA.state.triggers, triggers_b: cameraB.state.triggers,
      creates: frigate.state.creates,
      records: records.map((r) => ({ camera: r.camera, frigate_event_id: r.frigate_event_id, clip_url: r.clip_url, joined: r.joined, correlation: r.correlation })),
      late: { frigate_event_id: late.frigate_event_id, joined: late.joined },
    };
  },

  // Outcomes: clip never ready -> timeout; camera unreachable -> trigger_failed (Frigate event kept); not a trigger
  // event -> none, nothing called; unmapped station -> trigger_failed naming pipeline.stations.
  async outcomes() {
    const camera = await cameraStub([]);
    const frigate = await frigateStub(-1);
    const cameras = {
      'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 1, retries: 0 },
      'cam-b': { url: 'http://127.0.0.1:9', user: 'Service', frigate_camera: 'cam-b', timeout_s: 1, retries: 1 },
    };
    const p = pipeline({ frigate: { url: frigate.url, clip_wait_s: 0.2 }, cameras });
    const run = async (line, station, name) => {
      const r = await p.correlate(p.receive(`factory/line/${line}/event`, event(line, station, name, NOW_S)).event);
      return { correlation: r.correlation, error: r.error, frigate_event_id: r.frigate_event_id, camera: r.camera, clip_url: r.clip_url };
    };
    const out = {
      timeout: await run('line1', 'st10', 'stop'),
      unreachable: await run('line2', 'st10', 'stop'),
      not_trigger: await run('line1', 'st10', 'start'),
      unmapped: await run('line1', 'st99', 'stop'),
    };
    out.creates = frigate.state.creates.length;
    out.triggers = camera.state.triggers;
    camera.server.close(); frigate.server.close();
    return out;
  },

  // The real login against the camera simulator (Python), the Frigate stub.
  async simulator_trigger() {
    const frigate = await frigateStub(1);
    const sim = params.simulator;
    const env = Object.assign({}, ENV, { MING_SECRET_CAMERA_PASSWORD_CAM_A: sim.password });
    const p = new ming.Pipeline(config({ frigate: { url: frigate.url }, cameras: { 'cam-a': { url: sim.url, user: sim.user, frigate_camera: 'cam-a', timeout_s: 5, retries: 1 } } }), { env });
    const record = await p.correlate(p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S)).event);
    frigate.server.close();
    return { correlation: record.correlation, error: record.error, camera_clip: record.camera_clip, creates: frigate.state.creates, logins: frigate.state.logins };
  },

  async line_protocol() {
    return params.line_protocol.map(([tags, fields, ns]) => ming.lineProtocol('machine_events', tags, fields, ns));
  },

  // 500 then 204: nothing acknowledged before the 204, backoff honoured, then every record acked once.
  async drain_backoff() {
    const influx = await influxStub([500, 503]);
    const p = pipeline({ influxdb: { url: influx.url } });
    const records = [];
    for (const line of ['line1', 'line2', 'line3']) {
      const accepted = p.receive(`factory/line/${line}/event`, event(line, 'st10', 'start', NOW_S));
      records.push(p.record(await p.correlate(accepted.event)));
    }
    const outboxDir = path.join(p.config.outbox.dir, 'outbox');
    const first = await p.drain();
    const out = { first_acks: first.acks.length, after_first: listDir(outboxDir).length, requests_after_first: influx.state.requests.length };
    const second = await p.drain();
    out.second_acks = second.acks.length;
    out.requests_during_backoff = influx.state.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    const third = await p.drain();
    out.third_acks = third.acks.length;
    out.after_third = listDir(outboxDir).length;
    out.backoff_ms = p.backoffMs;
    await new Promise((resolve) => setTimeout(resolve, 450));
    const fourth = await p.drain();
    out.fourth_acks = fourth.acks;
    out.after_fourth = listDir(outboxDir).length;
    out.requests = influx.state.requests.map((r) => ({ url: r.url, authorization: r.authorization, lines: r.body.split('\n').length }));
    influx.server.close();
    return out;
  },

  // A batch with one record InfluxDB refuses (400): the others stored, the bad one dead-lettered, no endless loop.
  async drain_bad_record() {
    const influx = await influxStub([]);
    const p = pipeline({ influxdb: { url: influx.url, api_version: 2, org: 'plant', bucket: 'ming' } });
    for (const [line, severity] of [['line1', 'high'], ['line2', 'BAD'], ['line3', 'low']]) {
      const accepted = p.receive(`factory/line/${line}/event`, JSON.stringify({ event: 'start', line, station: 'st10', severity: 'x', timestamp: NOW_S }));
      const record = await p.correlate(accepted.event);
      record.error = severity;
      p.record(record);
    }
    const drained = await p.drain();
    const again = await p.drain();
    influx.server.close();
    return {
      acks: drained.acks.map((a) => a.topic).sort(), dead_letters: drained.dead_letters.map((d) => d.payload.reason),
      dead_letter_files: listDir(path.join(p.config.outbox.dir, 'dead_letter')).length,
      outbox: listDir(path.join(p.config.outbox.dir, 'outbox')).length, second_requests: again.acks.length,
      first_request: { url: influx.state.requests[0].url, authorization: influx.state.requests[0].authorization },
      request_count: influx.state.requests.length,
    };
  },
};

(async () => {
  const wanted = process.argv.slice(5);
  const results = {};
  for (const name of wanted.length ? wanted : Object.keys(cases)) {
    try {
      results[name] = await cases[name]();
    } catch (err) {
      results[name] = { crashed: String(err && err.stack ? err.stack : err) };
    }
  }
  process.stdout.write(JSON.stringify(results, (key, value) => (typeof value === 'bigint' ? value.toString() : value)));
  process.exit(0);
})();
