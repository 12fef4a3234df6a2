// Every API operation the console calls, in one place: screens call these, never a path. Each
// is named by its `operationId` in infra/openapi.yaml, so a name here, the spec and the browser
// suite's contract check (web/tests/openapi.mjs) all point at the same route; web/tests/api-names.mjs
// checks each name against the spec's method and path. Each one only builds the path (every
// path parameter encoded) and hands query, body and options (`idempotencyKey`) to session.js's
// `api`, which keeps the token, the Idempotency-Key and the retries.
// All 42 operations of the spec are here, and all but listEvents are used (GET /events is for a
// company's own systems, with an integration token). Left out, as they are not HTTP routes of the
// API: tenant-admin's createTenant and setTier (the platform invokes that function directly)
// and the scheduled expire-invites and reconcile-signin functions.
import { api } from './session.js';

const at = encodeURIComponent;

// Invites: an admin's writes and the pending list; preview and accept are public (`security: []`).
export function createInvites(body, opts) { return api('POST', '/invites', { ...opts, body }); }
export function listInvites(query, opts) { return api('GET', '/invites', { ...opts, query }); }
export function resendInvite(id, opts) { return api('POST', `/invites/${at(id)}/resend`, opts); }
export function revokeInvite(id, opts) { return api('DELETE', `/invites/${at(id)}`, opts); }
export function previewInvite(body, opts) { return api('POST', '/invites/preview', { ...opts, body, auth: false }); }
export function acceptInvite(body, opts) { return api('POST', '/invites/accept', { ...opts, body, auth: false }); }

// A forgotten password: the public form, the reset page's preview and its new password; and an
// admin sending a user the same email.
export function requestPasswordReset(body, opts) { return api('POST', '/password-resets', { ...opts, body, auth: false }); }
export function previewPasswordReset(body, opts) { return api('POST', '/password-resets/preview', { ...opts, body, auth: false }); }
export function confirmPasswordReset(body, opts) { return api('POST', '/password-resets/confirm', { ...opts, body, auth: false }); }
export function sendPasswordReset(id, body, opts) { return api('POST', `/users/${at(id)}/password-reset`, { ...opts, body }); }

// The caller, the directory, the company and its audit log.
export function getMe(opts) { return api('GET', '/me', opts); }
export function listUsers(query, opts) { return api('GET', '/users', { ...opts, query }); }
export function getUser(id, opts) { return api('GET', `/users/${at(id)}`, opts); }
export function deleteUser(id, opts) { return api('DELETE', `/users/${at(id)}`, opts); }
export function changeRole(id, body, opts) { return api('PUT', `/users/${at(id)}/role`, { ...opts, body }); }
export function quickEdit(body, opts) { return api('PATCH', '/users', { ...opts, body }); }
export function setUserAvailability(id, body, opts) { return api('PUT', `/users/${at(id)}/availability`, { ...opts, body }); }
export function setMyAvailability(body, opts) { return api('PUT', '/me/availability', { ...opts, body }); }
export function setDefaultMaxChats(body, opts) { return api('PUT', '/tenant/max-chats', { ...opts, body }); }
export function suspendUser(id, opts) { return api('POST', `/users/${at(id)}/suspend`, opts); }
export function reactivateUser(id, opts) { return api('POST', `/users/${at(id)}/reactivate`, opts); }
export function signOutUser(id, opts) { return api('POST', `/users/${at(id)}/sign-out`, opts); }
export function signOutEverywhere(opts) { return api('POST', '/me/sign-out', opts); }
export function changePassword(body, opts) { return api('POST', '/me/password', { ...opts, body }); }
export function getTenant(opts) { return api('GET', '/tenant', opts); }

// Teams: the counts (admins every team, supervisors their own), a rename and a merge.
export function listTeams(opts) { return api('GET', '/teams', opts); }
export function renameTeam(body, opts) { return api('POST', '/teams/rename', { ...opts, body }); }
export function mergeTeams(body, opts) { return api('POST', '/teams/merge', { ...opts, body }); }

// Two-step verification: your own set-up and turning it off, an admin's reset for a lost
// device, and the company's policy.
export function setUpMfa(opts) { return api('POST', '/me/mfa/setup', opts); }
export function turnOnMfa(body, opts) { return api('POST', '/me/mfa', { ...opts, body }); }
export function turnOffMfa(body, opts) { return api('POST', '/me/mfa/disable', { ...opts, body }); }
export function resetUserMfa(id, body, opts) { return api('POST', `/users/${at(id)}/mfa-reset`, { ...opts, body }); }
export function setMfaPolicy(body, opts) { return api('PUT', '/tenant/mfa-policy', { ...opts, body }); }
export function listAudit(query, opts) { return api('GET', '/audit', { ...opts, query }); }

// Integrations (admins): tokens for customers' own systems, shown once; the events they read.
export function listIntegrations(opts) { return api('GET', '/integrations', opts); }
export function createIntegration(body, opts) { return api('POST', '/integrations', { ...opts, body }); }
export function revokeIntegration(id, opts) { return api('DELETE', `/integrations/${at(id)}`, opts); }
export function listEvents(query, opts) { return api('GET', '/events', { ...opts, query }); }

// Directory sync (admins): which of the identity provider's groups give which role and team.
export function getGroupMappings(opts) { return api('GET', '/tenant/group-mappings', opts); }
export function setGroupMappings(body, opts) { return api('PUT', '/tenant/group-mappings', { ...opts, body }); }

// Exports: CSV in parts, each `{blob, next}` (the next part's cursor, null on the last).
export function exportUsers(query, opts) { return api('GET', '/users/export', { ...opts, query }); }
export function exportAudit(query, opts) { return api('GET', '/audit/export', { ...opts, query }); }
