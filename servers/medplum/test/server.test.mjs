// node --test servers/medplum/test/  (starts server.mjs on a free port, checks the front's guarantees)
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const serverPath = fileURLToPath(new URL('../server.mjs', import.meta.url));
let proc;
let base;

before(async () => {
  proc = spawn(process.execPath, [serverPath], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  base = await new Promise((resolve, reject) => {
    let buf = '';
    proc.stderr.on('data', (d) => {
      buf += d;
      const m = /listening on (http:\/\/\S+\/fhir)/.exec(buf);
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`server exited ${code}: ${buf}`)));
    setTimeout(() => reject(new Error('server did not start in 30 s')), 30000).unref();
  });
});
after(() => proc?.kill('SIGTERM'));

async function fhir(method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'Content-Type': 'application/fhir+json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

const NCT = 'https://clinicaltrials.gov';
const study = (nct, extra = {}) => ({
  resourceType: 'ResearchStudy',
  identifier: [{ system: NCT, value: nct }],
  status: 'completed',
  condition: [{ text: 'Type 2 Diabetes' }],
  ...extra,
});
const txPut = (entries) => ({
  resourceType: 'Bundle',
  type: 'transaction',
  entry: entries.map(([fullUrl, resource, url]) => ({ fullUrl, resource, request: { method: 'PUT', url } })),
});

test('metadata', async () => {
  const { status, body } = await fhir('GET', '/metadata');
  assert.equal(status, 200);
  assert.equal(body.fhirVersion, '4.0.1');
  const types = body.rest[0].resource.map((r) => r.type);
  for (const t of ['ResearchStudy', 'EvidenceVariable', 'PlanDefinition', 'Organization', 'Practitioner',
    'PractitionerRole', 'Location', 'Group', 'ActivityDefinition']) assert.ok(types.includes(t), t);
  const rs = body.rest[0].resource.find((r) => r.type === 'ResearchStudy');
  for (const p of ['identifier', 'status', 'condition', 'phase', '_lastUpdated']) {
    assert.ok(rs.searchParam.some((s) => s.name === p), p);
  }
});

test('transaction: urn:uuid, conditional PUT twice, changed trial, rollback', async () => {
  await fhir('DELETE', '/$reset');
  const pd = 'urn:uuid:11111111-1111-4111-8111-111111111111';
  const rs = 'urn:uuid:22222222-2222-4222-8222-222222222222';
  const bundle = (title) => txPut([
    [pd, { resourceType: 'PlanDefinition', url: 'https://x/pd/1', status: 'active' }, 'PlanDefinition?url=https://x/pd/1'],
    [rs, study('NCT1', { title, protocol: [{ reference: pd }] }), `ResearchStudy?identifier=${NCT}|NCT1`],
  ]);
  const first = await fhir('POST', '', bundle('A'));
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.entry.map((e) => e.response.status), ['201', '201']);
  const second = await fhir('POST', '', bundle('A'));
  assert.deepEqual(second.body.entry.map((e) => e.response.status), ['200', '200']);
  assert.deepEqual(second.body.entry.map((e) => e.response.etag), first.body.entry.map((e) => e.response.etag));
  const third = await fhir('POST', '', bundle('B'));
  assert.notEqual(third.body.entry[1].response.etag, first.body.entry[1].response.etag);
  const found = await fhir('GET', `/ResearchStudy?identifier=${NCT}|NCT1`);
  assert.equal(found.body.total, 1);
  assert.match(found.body.entry[0].resource.protocol[0].reference, /^PlanDefinition\/[0-9a-f-]{36}$/);

  const bad = txPut([
    [pd, { resourceType: 'PlanDefinition', url: 'https://x/pd/2', status: 'active' }, 'PlanDefinition?url=https://x/pd/2'],
    [rs, study('NCT2', { bogus: 1 }), `ResearchStudy?identifier=${NCT}|NCT2`],
  ]);
  const failed = await fhir('POST', '', bad);
  assert.equal(failed.status, 400);
  assert.equal(failed.body.resourceType, 'OperationOutcome');
  assert.ok(failed.body.issue.some((i) => i.expression.includes('Bundle.entry[1].resource.bogus')));
  assert.equal((await fhir('GET', '/PlanDefinition?_summary=count')).body.total, 1);
});

test('validation, If-Match, paging links, unknown params', async () => {
  await fhir('DELETE', '/$reset');
  const invalid = await fhir('POST', '/ResearchStudy', { resourceType: 'ResearchStudy' });
  assert.equal(invalid.status, 400);
  assert.deepEqual(invalid.body.issue[0].expression, ['ResearchStudy.status']);
  const created = await fhir('POST', '/ResearchStudy', study('NCT9'));
  assert.equal(created.status, 201);
  const stale = await fhir('PUT', `/ResearchStudy/${created.body.id}`, { ...created.body, title: 'x' }, { 'If-Match': 'W/"nope"' });
  assert.equal(stale.status, 412);
  for (let i = 0; i < 24; i++) await fhir('POST', '/ResearchStudy', study(`NCT${100 + i}`));
  let url = `${base}/ResearchStudy?status=completed&_count=10`;
  const ids = new Set();
  let pages = 0;
  while (url) {
    const page = await (await fetch(url)).json();
    pages++;
    page.entry.forEach((e) => ids.add(e.resource.id));
    url = page.link.find((l) => l.relation === 'next')?.url;
  }
  assert.equal(pages, 3);
  assert.equal(ids.size, 25);
  assert.equal((await fhir('GET', '/ResearchStudy?condition:text=diabetes&_summary=count')).body.total, 25);
  assert.equal((await fhir('GET', '/ResearchStudy?nonsense=1')).status, 400);
});

test('requests are serialised: concurrent conditional creates make one resource', async () => {
  await fhir('DELETE', '/$reset');
  await Promise.all(Array.from({ length: 20 }, () =>
    fhir('PUT', `/ResearchStudy?identifier=${NCT}|NCT77`, study('NCT77'))));
  assert.equal((await fhir('GET', '/ResearchStudy?_summary=count')).body.total, 1);
});
