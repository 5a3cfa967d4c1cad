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

// A Frigate stub: login cookie, create (counted per camera), the event (ended long ago), clip 404 for `clipNotReady`
// polls then 206 (-1: never).
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
      response.writeHead(206, { 'Content-Type': 'video/mp4', 'Content-Range': 'bytes 0-0/1000', 'Content-Length': '1' });
      return response.end('x');
    }
    const shown = /^\/api\/events\/([^/]+)$/.exec(request.url);
    if (shown) {
      return reply(response, 200, { id: decodeURIComponent(shown[1]), end_time: Date.now() / 1000 - 100 }); // ended long ago
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
    const out = [];
    for (const [topic, payload] of params.normalise) {
      const result = await p.receive(topic, payload);
      if (result.status === 'accepted') {
        const e = result.event;
        out.push({ status: 'accepted', line: e.line, station: e.station, event: e.event, severity: e.severity, timestamp_ns: e.timestamp_ns, event_id: e.event_id, self_test: e.self_test });
      } else {
        out.push({ status: result.status, reason: result.reason || '', message: result.message || null });
      }
    }
    return out;
  },

  async stable_id() {
    const payload = event('line1', 'st10', 'stop', NOW_S);
    const first = (await pipeline().receive('factory/line/line1/event', payload)).event;
    const second = (await pipeline().receive('factory/line/line1/event', payload)).event;
    return { first: first.event_id, second: second.event_id, timestamp_ns: first.timestamp_ns };
  },

  // Duplicates are dropped in the same process, after a restart (new load on the same dir), after storage (the
  // seen-set), and a new timestamp (a PLC that restarted its id counter) is a new event.
  async dedup() {
    const influx = await influxStub([]);
    const p = pipeline({ events: [], influxdb: { url: influx.url } });
    const dir = p.config.outbox.dir;
    const sameDir = (extra) => new ming.Pipeline(Object.assign(config({ events: [], influxdb: { url: influx.url } }), {
      outbox: Object.assign(config().outbox, { dir }),
    }), Object.assign({ env: ENV }, extra || {}));
    const payload = event('line1', 'st10', 'stop', NOW_S, { id: 'plc-7' });
    const out = { first: (await p.receive('factory/line/line1/event', payload)).status };
    out.again = (await p.receive('factory/line/line1/event', payload)).status;
    const restarted = sameDir();
    out.after_restart = (await restarted.receive('factory/line/line1/event', payload)).status;
    const fresh = await restarted.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S + 1, { id: 'plc-7' }));
    out.same_id_new_time = fresh.status;
    for (const e of restarted.resume().concat([fresh.event])) {
      await restarted.record(await restarted.correlate(e));
    }
    out.stored = (await restarted.drain()).acks.length;
    out.after_storage = (await restarted.receive('factory/line/line1/event', payload)).status;
    out.after_storage_restart = (await sameDir().receive('factory/line/line1/event', payload)).status;
    // Pruned after dedup.ttl_s: a clock two days ahead prunes the seen-set.
    const later = sameDir({ now: () => Date.now() + 2 * 86400 * 1000 });
    out.pruned = later.pruneSeen();
    out.after_ttl = (await later.receive('factory/line/line1/event', payload)).status;
    influx.server.close();
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
    const result = (await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S)));
    const out = { journal_after_receive: listDir(path.join(cfg.outbox.dir, 'journal')), key: result.event.key };
    // A child process receives one event and SIGKILLs itself at once.
    const script = `const m=require(${JSON.stringify(path.resolve(libraryPath))});` +
      `const p=m.load(${JSON.stringify(cfgFile)},{env:${JSON.stringify(ENV)}});` +
      `p.receive('factory/line/line2/event',${JSON.stringify(event('line2', 'st10', 'fault', NOW_S))})` +
      '.then(()=>process.kill(process.pid,"SIGKILL"));';
    const child = childProcess.spawnSync(process.execPath, ['-e', script]);
    out.child_signal = child.signal;
    out.journal_after_kill = listDir(path.join(cfg.outbox.dir, 'journal')).length;
    const resumed = ming.load(cfgFile, { env: ENV });
    const events = resumed.resume();
    out.resumed = events.map((e) => `${e.line}/${e.station}/${e.event}`).sort();
    for (const e of events) {
      await resumed.record(await resumed.correlate(e));
    }
    out.journal_after_record = listDir(path.join(cfg.outbox.dir, 'journal')).length;
    out.outbox_after_record = listDir(path.join(cfg.outbox.dir, 'outbox')).length;
    const drained = await resumed.drain();
    out.acks = drained.acks;
    out.outbox_after_drain = listDir(path.join(cfg.outbox.dir, 'outbox')).length;
    out.written = influx.state.requests.map((r) => r.body);
    out.redelivered = (await resumed.receive('factory/line/line2/event', event('line2', 'st10', 'fault', NOW_S))).status;
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
    // Without _sendPacket (an older MQTT.js shape): the hook waits inside handleMessage.
    class MqttClient {
      handleMessage(packet, callback) {
        callback();
      }
    }
    // MQTT.js 5's shape (handlers/publish.js, client.js): 'message' first, then handleMessage, whose callback hands
    // PUBACK to _sendPacket with `done`; the next packet is read only when done is called.
    class MqttClient5 {
      constructor() {
        this.sent = [];
        this.connected = true;
        this.stream = {};
      }

      handleMessage(packet, callback) {
        callback();
      }

      _sendPacket(packet, cb) {
        this.sent.push({ messageId: packet.messageId, on_disk: journalStations().includes(`st${packet.messageId}`) });
        cb();
      }

      handlePublish(packet, done) {
        this.handleMessage(packet, (err) => (err ? done(err) : this._sendPacket({ cmd: 'puback', messageId: packet.messageId }, done)));
      }

      // reads the packets one after another, as MQTT.js's work()/nextTickWork do
      work(packets) {
        return new Promise((resolve) => {
          const next = () => (packets.length ? this.handlePublish(packets.shift(), () => process.nextTick(next)) : resolve());
          next();
        });
      }
    }
    const journal = path.join(cfg.outbox.dir, 'journal');
    const journalStations = () => (fs.existsSync(journal) && fs.statSync(journal).isDirectory() ? listDir(journal) : [])
      .flatMap((name) => fs.readFileSync(path.join(journal, name), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).station));
    const installed = ming.installPubackAfterJournal(cfgFile, { MqttClient });
    const again = ming.installPubackAfterJournal(cfgFile, { MqttClient });
    const installed5 = ming.installPubackAfterJournal(cfgFile, { MqttClient: MqttClient5 });
    const payload = Buffer.from(event('line1', 'st10', 'stop', NOW_S));
    const journalAtPuback = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line1/event', payload }, () => resolve(listDir(journal).length)));
    const qos0 = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 0, topic: 'factory/line/line2/event', payload: Buffer.from(event('line2', 'st10', 'stop', NOW_S)) },
      () => resolve(listDir(journal).length)));
    const other = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line2/event/ack', payload: Buffer.from('{}') }, () => resolve(listDir(journal).length)));
    const flowSees = (await ming.shared(cfgFile).receive('factory/line/line1/event', payload)).status;
    const second = (await ming.shared(cfgFile).receive('factory/line/line1/event', payload)).status;
    // A burst of 40 through the MQTT.js 5 shape: every PUBACK after its message is on disk, in order, and the
    // messages read while a batch was being written went into a later batch together (fewer batches than messages).
    const client = new MqttClient5();
    const batchesBefore = ming.shared(cfgFile).journalCommit.batches;
    const burst = Array.from({ length: 40 }, (_, i) => ({
      cmd: 'publish', qos: 1, messageId: 100 + i, topic: 'factory/line/line1/event', payload: Buffer.from(event('line1', `st${100 + i}`, 'stop', NOW_S)),
    }));
    await client.work(burst);
    const readAllBefore = client.sent.length;
    for (let i = 0; i < 200 && client.sent.length < 40; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const burstResult = {
      pubacks: client.sent.length, all_on_disk: client.sent.every((sent) => sent.on_disk),
      in_order: client.sent.map((sent) => sent.messageId).join(',') === Array.from({ length: 40 }, (_, i) => 100 + i).join(','),
      read_all_before_all_pubacks: readAllBefore < 40,
      batches: ming.shared(cfgFile).journalCommit.batches - batchesBefore,
    };
    // A journal that cannot be written: no PUBACK (the callback gets the error; the MQTT.js 5 shape sends none).
    fs.rmSync(journal, { recursive: true });
    fs.writeFileSync(journal, 'not a directory');
    const failed = await new Promise((resolve) => new MqttClient().handleMessage(
      { cmd: 'publish', qos: 1, topic: 'factory/line/line3/event', payload: Buffer.from(event('line3', 'st10', 'stop', NOW_S)) },
      (err) => resolve(err ? 'error, no puback' : 'puback')));
    const failing = new MqttClient5();
    await failing.work([{ cmd: 'publish', qos: 1, messageId: 7, topic: 'factory/line/line3/event', payload: Buffer.from(event('line3', 'st11', 'stop', NOW_S)) }]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return {
      installed, again, installed5, journal_at_puback: journalAtPuback, qos0, other, flow_sees: flowSees, second, failed,
      burst: burstResult, failed5_pubacks: failing.sent.length,
    };
  },

  // Clip readiness against the Frigate API double (params.frigate: one double per version, python keeps their
  // clip_downloads): 0.18 matched only after the event ended + clip_settle_s; 0.17 answers 400 (no recordings) first
  // and is polled until matched; 0.16 with recordings that never land answers an empty 200: not accepted (timeout).
  async frigate_clip() {
    const camera = await cameraStub([]);
    const cameras = { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-line1-st10', timeout_s: 2, retries: 0 } };
    const run = async (double, frigate) => {
      const env = Object.assign({}, ENV, { MING_SECRET_FRIGATE_PASSWORD: double.password });
      const p = new ming.Pipeline(config({
        cameras, recording_window_s: 0,
        frigate: Object.assign({ url: double.url, duration_s: 1, clip_settle_s: 0.3, clip_poll_s: 0.1, clip_wait_s: 8, version: double.version }, frigate || {}),
      }), { env });
      const accepted = await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S));
      const record = await p.correlate(accepted.event);
      return {
        correlation: record.correlation, error: record.error, frigate_event_id: record.frigate_event_id, clip_url: record.clip_url,
        hops: record.hops,
      };
    };
    // clip_settle_s covers the double's recording delay (0.5 s), as the default 10 s covers Frigate's segment; 0.17's
    // recordings lag 2.5 s: the poll at 2 s finds none (400), the one at 4 s a complete clip.
    const out = {
      v18: await run(params.frigate.v18, { clip_settle_s: 1 }),
      v17: await run(params.frigate.v17, { clip_settle_s: 0.3, clip_poll_s: 2 }),
      v16: await run(params.frigate.v16, { clip_wait_s: 2 }),
    };
    camera.server.close();
    return out;
  },

  // A self-test event with pipeline.self_test.camera set: the camera is triggered and a Frigate event created like a
  // real one, the record and the ack carry self_test true; a plant event beside it for comparison. Then the ack
  // payload after storage (the hops of docs/pipeline.md). Camera and InfluxDB stubs, the Frigate API double.
  async self_test_camera() {
    const camera = await cameraStub([]);
    const influx = await influxStub([]);
    const double = params.frigate.v18;
    const env = Object.assign({}, ENV, { MING_SECRET_FRIGATE_PASSWORD: double.password });
    const p = new ming.Pipeline(config({
      cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-line1-st10', timeout_s: 2, retries: 0 } },
      recording_window_s: 0, influxdb: { url: influx.url },
      frigate: { url: double.url, duration_s: 1, clip_settle_s: 1, clip_poll_s: 0.1, clip_wait_s: 8 },
      self_test: { line: 'ming-selftest', station: 'ming-selftest', camera: 'cam-a' },
    }), { env });
    const selfTest = await p.receive('factory/line/ming-selftest/event', event('ming-selftest', 'ming-selftest', 'stop', NOW_S));
    const plant = await p.receive('factory/line/line1/event', event('line1', 'st10', 'start', NOW_S));
    const records = await Promise.all([p.correlate(selfTest.event), p.correlate(plant.event)]);
    for (const record of records) {
      await p.record(record);
    }
    const drained = await p.drain();
    camera.server.close(); influx.server.close();
    return {
      triggers: camera.state.triggers,
      records: records.map((r) => ({ self_test: r.event.self_test, correlation: r.correlation, camera: r.camera, frigate_event_id: r.frigate_event_id, error: r.error })),
      acks: drained.acks, written: influx.state.requests.map((r) => r.body),
    };
  },

  async sick_login() {
    return params.sick_login.map(([user, realm, password, nonce, name, salt, emptySalt]) => ming.sickResponse(user, realm, password, nonce, name, salt, emptySalt));
  },

  // data.result 2 (busy) twice, then 0: retried with backoff, one trigger, matched.
  async busy_retried() {
    const camera = await cameraStub([2, 2, 0]);
    const frigate = await frigateStub(0);
    const p = pipeline({ frigate: { url: frigate.url }, cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 1, busy_retry_s: 0.01 } } });
    const accepted = (await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S)));
    const record = await p.correlate(accepted.event);
    camera.server.close(); frigate.server.close();
    return { attempts: camera.state.attempts, triggers: camera.state.triggers, correlation: record.correlation, error: record.error, camera_clip: record.camera_clip };
  },

  // Busy for longer than the bounded retries: trigger_failed, still a Frigate event and clip.
  async busy_exhausted() {
    const camera = await cameraStub([2, 2, 2, 2]);
    const frigate = await frigateStub(0);
    const p = pipeline({ frigate: { url: frigate.url }, cameras: { 'cam-a': { url: camera.url, user: 'Service', frigate_camera: 'cam-a', timeout_s: 2, retries: 1, busy_retries: 2, busy_retry_s: 0.01 } } });
    const record = await p.correlate((await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S))).event);
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
    const events = (await Promise.all(inputs.map(([line, station, name, ts]) => p.receive(`factory/line/${line}/event`, event(line, station, name, ts))))).map((r) => r.event);
    const records = await Promise.all(events.map((e) => p.correlate(e)));
    await new Promise((resolve) => setTimeout(resolve, 600));
    const late = await p.correlate((await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S + 5))).event);
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
      const r = await p.correlate((await p.receive(`factory/line/${line}/event`, event(line, station, name, NOW_S))).event);
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
    const record = await p.correlate((await p.receive('factory/line/line1/event', event('line1', 'st10', 'stop', NOW_S))).event);
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
      const accepted = (await p.receive(`factory/line/${line}/event`, event(line, 'st10', 'start', NOW_S)));
      records.push(await p.record(await p.correlate(accepted.event)));
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
      const accepted = (await p.receive(`factory/line/${line}/event`, JSON.stringify({ event: 'start', line, station: 'st10', severity: 'x', timestamp: NOW_S })));
      const record = await p.correlate(accepted.event);
      record.error = severity;
      await p.record(record);
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
