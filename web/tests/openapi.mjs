// Checks every request the console sent and every answer it got against infra/openapi.yaml, so
// the console and the API cannot drift apart: the route and method exist, each query parameter
// is declared, the body matches the request schema, the status is declared, and the answer
// matches its schema with no field the spec doesn't name (the console may only rely on what the
// contract promises).
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export function loadSpec(path) {
  return parse(readFileSync(path, 'utf8'));
}

function resolve(spec, node) {
  while (node && node.$ref) {
    node = node.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k], spec);
  }
  return node;
}

function typeOf(v) {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Errors of `value` against `schema` ([] when it conforms). `closed`: objects may hold only declared properties. */
export function validate(spec, schema, value, at = '$', closed = false) {
  schema = resolve(spec, schema);
  if (!schema) return [];
  if (value === null) return schema.nullable ? [] : [`${at}: null is not allowed`];
  if (schema.allOf) {
    const errs = schema.allOf.flatMap((s) => validate(spec, s, value, at, false));
    if (closed && typeOf(value) === 'object') {
      const known = new Set(schema.allOf.flatMap((s) => Object.keys(resolve(spec, s).properties || {})));
      for (const k of Object.keys(value)) if (!known.has(k)) errs.push(`${at}.${k}: not in the spec`);
    }
    return errs;
  }
  if (schema.oneOf) {
    const results = schema.oneOf.map((s) => validate(spec, s, value, at, closed));
    const ok = results.filter((r) => r.length === 0).length;
    if (ok === 1) return [];
    return ok === 0 ? [`${at}: matches none of oneOf (${results.map((r) => r[0]).join(' | ')})`] : [`${at}: matches ${ok} of oneOf`];
  }
  const errs = [];
  const t = typeOf(value);
  if (schema.type) {
    const fits = schema.type === t || (schema.type === 'number' && t === 'integer');
    if (!fits) return [`${at}: expected ${schema.type}, got ${t}`];
  }
  if (schema.enum && !schema.enum.includes(value)) errs.push(`${at}: ${JSON.stringify(value)} not in ${schema.enum.join(',')}`);
  if (t === 'string') {
    if (schema.minLength !== undefined && [...value].length < schema.minLength) errs.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.maxLength !== undefined && [...value].length > schema.maxLength) errs.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.pattern && !new RegExp(schema.pattern, 'u').test(value)) errs.push(`${at}: does not match ${schema.pattern}`);
    if (schema.format === 'date-time' && Number.isNaN(Date.parse(value))) errs.push(`${at}: not a date-time`);
  }
  if (t === 'integer' || t === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) errs.push(`${at}: below ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) errs.push(`${at}: above ${schema.maximum}`);
  }
  if (t === 'array') {
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(`${at}: fewer than ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.items) value.forEach((v, i) => errs.push(...validate(spec, schema.items, v, `${at}[${i}]`, closed)));
  }
  if (t === 'object') {
    const props = schema.properties || {};
    for (const r of schema.required || []) if (!(r in value)) errs.push(`${at}.${r}: required`);
    for (const [k, v] of Object.entries(value)) {
      if (props[k]) errs.push(...validate(spec, props[k], v, `${at}.${k}`, closed));
      else if (schema.additionalProperties === false || (closed && schema.properties)) errs.push(`${at}.${k}: not in the spec`);
    }
  }
  return errs;
}

function matchPath(spec, path) {
  const parts = path.split('/').filter(Boolean);
  // Literal segments win over parameters: /invites/preview is not /invites/{id}.
  const byParams = (t) => (t.match(/\{/g) || []).length;
  for (const tpl of Object.keys(spec.paths).sort((a, b) => byParams(a) - byParams(b))) {
    const t = tpl.split('/').filter(Boolean);
    if (t.length === parts.length && t.every((seg, i) => seg.startsWith('{') || seg === parts[i])) return tpl;
  }
  return null;
}

/** Problems with one exchange the browser made with the API. */
export function checkExchange(spec, ex) {
  const url = new URL(ex.url);
  const where = `${ex.method} ${url.pathname}${url.search} → ${ex.status}`;
  const tpl = matchPath(spec, url.pathname);
  if (!tpl) return [`${where}: no such path in the spec`];
  const op = spec.paths[tpl][ex.method.toLowerCase()];
  if (!op) return [`${where}: ${ex.method} ${tpl} not in the spec`];
  const errs = [];
  const params = (op.parameters || []).map((p) => resolve(spec, p));
  for (const [name, value] of url.searchParams) {
    const p = params.find((x) => x.in === 'query' && x.name === name);
    if (!p) { errs.push(`${where}: query parameter ${name} not in the spec`); continue; }
    const schema = resolve(spec, p.schema);
    const v = schema && schema.type === 'integer' ? Number(value) : value;
    errs.push(...validate(spec, schema, v, `query.${name}`));
  }
  if (ex.requestBody !== undefined) {
    const schema = op.requestBody?.content?.['application/json']?.schema;
    if (!schema) errs.push(`${where}: sends a body the spec doesn't take`);
    else errs.push(...validate(spec, schema, ex.requestBody, 'request').map((e) => `${where}: ${e}`));
  }
  const resp = resolve(spec, op.responses[String(ex.status)]);
  if (!resp) return [...errs, `${where}: status ${ex.status} not declared`];
  if (resp.content && ex.responseBody !== undefined) {
    const ctype = (ex.contentType || '').split(';')[0].trim();
    const media = resp.content[ctype];
    if (!media) errs.push(`${where}: content type ${ctype} not declared (${Object.keys(resp.content)})`);
    else errs.push(...validate(spec, media.schema, ex.responseBody, 'response', true).map((e) => `${where}: ${e}`));
  }
  return errs;
}
