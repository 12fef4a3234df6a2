// Every string the console shows, in one place, ready for a second locale. Dates and numbers go
// through Intl with the browser's locale and time zone.
export const locale = navigator.language || 'en';

export const roles = {
  agent: { label: 'Agent', can: 'Read and reply in the inbox, make and receive calls on their assigned numbers, add notes to contacts. Sees only their own assigned contacts and conversations.' },
  supervisor: { label: 'Supervisor', can: 'Everything an agent can do, plus see their team’s contacts and conversations, listen to live calls, jump into calls if needed, and review team metrics.' },
  admin: { label: 'Admin', can: 'Everything a supervisor can do, plus invite users, buy numbers, configure channels, manage billing, and read the audit log.' },
};

export const permissions = {
  'inbox.reply': 'Read and reply in the inbox',
  'calls.assignedNumbers': 'Make and receive calls on assigned numbers',
  'contacts.notes': 'Add notes to contacts',
  'team.visibility': 'See the team’s contacts and conversations',
  'calls.liveListen': 'Listen to live calls',
  'calls.bargeIn': 'Jump into calls',
  'team.metrics': 'Review team metrics',
  'users.invite': 'Invite and manage users',
  'numbers.buy': 'Buy numbers',
  'channels.configure': 'Configure channels',
  'billing.manage': 'Manage billing',
  'audit.read': 'Read the audit log',
};

// A user's own availability for new conversations (the API's `availability`).
export const availabilities = { available: 'Available', away: 'Away', dnd: 'Do not disturb' };

export const statuses = {
  active: 'Active',
  invited: 'Invited',
  expired: 'Invite expired',
  suspended: 'Suspended',
  deleted: 'Deleted',
};

export const visibility = {
  tenant: 'You see everyone in your company.',
  team: 'You see your team and yourself.',
  self: 'You see only yourself.',
};

export const s = {
  appName: 'VeloConnect',
  loading: 'Loading…',
  skip: 'Skip to content',
  nav: { home: 'Dashboard', settings: 'Settings', company: 'Company information', companyShort: 'Company', users: 'Users', audit: 'Audit log', security: 'Security', integrations: 'Integrations', directory: 'Directory sync', profile: 'Your profile', signOut: 'Sign out' },
  signIn: {
    title: 'Sign in to VeloConnect', email: 'Email', password: 'Password', submit: 'Sign in', busy: 'Signing in…',
    wrong: 'That email and password don’t match an account.', disabled: 'This account is suspended. Ask your admin to reactivate it.',
    expired: 'Your session has ended. Sign in again to continue.', signedOut: 'You are signed out.',
    signedOutByAdmin: 'You were signed out by an admin. Sign in again to continue.',
    passwordChanged: 'Your password was changed. Sign in with it and a code from your authenticator app.',
    signedOutEverywhere: 'You signed out of every device. Sign in again to continue.',
    unreachable: 'VeloConnect can’t be reached right now. Check your connection and try again.',
    tooMany: 'Too many attempts. Wait a minute and try again.',
    forgot: 'Forgot password?',
    passwordSet: 'Your new password is set, and every other session of yours is signed out. Sign in with it.',
  },
  forgot: {
    title: 'Reset your password', intro: 'Enter the email you sign in with. We’ll send it a link to set a new password.',
    email: 'Email', submit: 'Send reset link', busy: 'Sending…', back: 'Back to sign in',
    sentTitle: 'Check your email',
    sent: (email) => `If ${email} belongs to an active VeloConnect account, a link to set a new password is on its way. It works for 1 hour.`,
    spam: 'Nothing after a few minutes? Check your spam folder, or ask your admin to send you a reset.',
  },
  reset: {
    title: 'Set a new password', intro: (company) => `For your ${company} account on VeloConnect.`,
    account: 'Account', password: 'New password', submit: 'Set new password', busy: 'Setting your password…',
    sessionsEnd: 'Setting a new password signs you out on every device.',
    unusableTitle: 'This reset link can’t be used',
    unusable: 'It may have expired (links work for 1 hour) or been replaced by a newer email. Ask for a new one.',
    askAgain: 'Send me a new link',
    usedTitle: 'This link was already used',
    used: 'A new password was already set with this link. Sign in with it.',
    goSignIn: 'Go to sign in',
    unavailableTitle: 'This reset link couldn’t be checked',
  },
  home: {
    welcome: (name) => `Welcome, ${name}`,
    role: (role) => `You are signed in as ${role}.`,
    joined: 'You’re in. Your role and permissions are already applied.',
    usersLink: 'Go to Users', profileLink: 'See your profile', auditLink: 'Read the audit log',
  },
  accept: {
    title: (company) => `Join ${company} on VeloConnect`,
    invitedBy: (who, company) => who ? `${who} invited you to join ${company}.` : `You’ve been invited to join ${company}.`,
    as: 'Your role', team: 'Team', email: 'Your sign-in email', expires: 'Link valid until',
    password: 'Choose a password', show: 'Show', hide: 'Hide', hintsTitle: 'Your password',
    submit: 'Set password and join', busy: 'Setting up your account…',
    unusableTitle: 'This invite link can’t be used',
    unusable: 'It may have expired, been replaced by a newer email, or already been used. Ask your admin for a new one.',
    goSignIn: 'Already joined? Sign in',
    inProgress: 'Your account is being set up in another tab or click. One moment…',
    retry: 'Try again',
    // Where the API's wording ("must not start or end with a space") doesn't read as a hint.
    ruleHints: { noEdgeSpace: 'No space at the start or end' },
  },
  users: {
    managed: 'Directory', managedTitle: 'Managed by your identity provider (directory sync): its name and address come from there.',
    title: 'Users', invite: 'Invite user', search: 'Search name or email', role: 'Role', team: 'Team', status: 'Status',
    anyRole: 'Any role', anyTeam: 'Any team', filters: 'Filters', clear: 'Clear filters',
    cols: { name: 'Name', email: 'Email', role: 'Role', team: 'Team', status: 'Status', actions: 'Actions' },
    empty: 'No one matches these filters.', more: 'Load more', loadingMore: 'Loading more…',
    loading: 'Loading users…', seatsLoading: 'Counting seats…',
    seats: (used, limit) => `${used} of ${limit} seats used (pending invites included)`,
    atLimit: (limit) => `You’ve used all ${limit} seats on your plan. Upgrade your plan to invite more people.`,
    pricing: 'See pricing',
    lastActive: (rel) => `Last active ${rel}`, activeNow: 'Online now', neverActive: 'Never signed in',
    presence: 'Show', everyone: 'Everyone', online: 'Online', offline: 'Offline', sort: 'Sort by', byName: 'Name', byActivity: 'Last active',
    availability: 'Availability', anyAvailability: 'Any availability',
    qe: {
      start: 'Edit several', cancel: 'Cancel', save: (n) => (n ? `Save ${n} change${n === 1 ? '' : 's'}` : 'Done'),
      hint: 'Change role, team, availability and max chats in the rows, then save once: every row is saved, or none.',
      field: (what, name) => `${what} for ${name}`, fields: { role: 'Role', team: 'Team', availability: 'Availability', maxChats: 'Max chats' },
      saved: (n) => `${n} user${n === 1 ? '' : 's'} saved.`,
      tooMany: (n) => `${n} rows changed: save at most 25 at once (Cancel, then edit fewer).`,
    },
    menu: (name) => `Actions for ${name}`, open: 'Open', resend: 'Resend invite', revoke: 'Revoke invite',
    sent: (d) => `Sent ${d}`, expiresOn: (d) => `Expires ${d}`, expiredOn: (d) => `Expired ${d}`,
    // What SES said about the invite email (the API's `delivery`, with `deliveryDetail`).
    delivery: { failed: 'Email not sent', bounced: 'Email bounced', complained: 'Marked as spam', delivered: 'Email delivered' },
    emailProblem: 'Last email not delivered',
    invitedBy: (n) => `Invited by ${n}`,
    resent: (email) => `A new invite link was sent to ${email}. The old link no longer works.`,
    wait: (n) => `This invite was just sent. You can resend it in ${n} second${n === 1 ? '' : 's'}.`,
    revokeTitle: (name) => `Revoke the invite for ${name}?`,
    revokeBody: 'The link in their email stops working at once, and the seat is free again. You can invite them again later.',
    revoked: (name) => `The invite for ${name} was revoked.`,
    you: 'you',
  },
  user: {
    back: 'Back to Users', loading: 'Loading this user…', details: 'Details', role: 'Role', team: 'Team', noTeam: 'No team', save: 'Save changes', saved: 'Changes saved. They apply on the user’s next page load.',
    teamHint: 'Leave empty for no team.',
    maxChats: 'Max chats at once', maxChatsHint: 'From 1 to 50. The routing side gives them no more conversations than this at once.',
    availability: 'Availability', availabilityHint: 'Changes at once, without Save.', availabilityOf: (n) => `Availability of ${n}`, setBy: (who, when) => `Set by ${who}, ${when}`, availabilitySet: (n, a) => `${n} is now ${a}.`,
    created: 'Joined', updated: 'Last changed', lastActive: 'Last active',
    conflict: (who) => `${who || 'Someone'} changed this user while you were editing. Here are their current details; make your change again if it’s still needed.`,
    suspend: 'Suspend', reactivate: 'Reactivate', delete: 'Delete user',
    suspendTitle: (n) => `Suspend ${n}?`,
    suspendBody: 'Their data stays, but they can’t sign in, and they are signed out everywhere. Their seat is free until you reactivate them.',
    suspended: (n) => `${n} is suspended.`, reactivated: (n) => `${n} is active again.`,
    signOut: 'Sign out of all devices', signOutTitle: (n) => `Sign ${n} out of all devices?`,
    signOutBody: 'Every session they have ends now, on every device. They stay active, keep their role and seat, and can sign in again with their password.',
    signedOut: (n) => `${n} is signed out of every device.`,
    mfaReset: 'Reset two-step verification', mfaResetTitle: (n) => `Reset two-step verification for ${n}?`,
    mfaResetBody: 'For a lost or replaced phone. Two-step verification is turned off and every session they have ends; they sign in with their password alone and can set it up again on their profile. If it was on, they are told by email.',
    mfaWasReset: (n, emailed) => `Two-step verification is off for ${n}, and they are signed out of every device.${emailed ? ' An email tells them what happened.' : ''}`,
    reset: 'Send password reset', resetTitle: (n) => `Send ${n} a password reset?`,
    resetBody: (email) => `They get an email at ${email} with a link to set a new password, valid for 1 hour. Their current password keeps working until they use it.`,
    resetSent: (email) => `A password reset link was sent to ${email}.`,
    deleteTitle: (n) => `Delete ${n} permanently?`,
    deleteBody: ['Deleting is permanent and can’t be undone.', 'Their assigned contacts and conversations stay, and the activity timeline shows who the original assignee was.', 'Their seat is freed immediately, and their email can be invited again.', 'The deletion is recorded in the audit log.'],
    deleted: (n) => `${n} was deleted.`,
    manage: 'Access', readOnly: 'Only admins can change users.',
    notFound: 'This user doesn’t exist or isn’t visible to you.',
  },
  inviteDialog: {
    title: 'Invite users', email: 'Email', name: 'Name', role: 'Role', team: 'Team (optional)',
    add: 'Add another person', remove: (n) => `Remove row ${n}`, paste: 'Paste a list', pasteLabel: 'One person per line: email, name',
    pasteApply: 'Add these people', pasteRole: 'Role for everyone pasted',
    max: 'Up to 25 people at once.', submit: (n) => n === 1 ? 'Send invite' : `Send ${n} invites`, busy: 'Sending…',
    allOrNothing: 'Nothing was sent. Fix the marked fields and send again.',
    sent: (n) => n === 1 ? 'Invite sent.' : `${n} invites sent.`,
    someFailed: (n) => `${n} email${n === 1 ? '' : 's'} could not be delivered; resend from the Users list.`,
    seatLimit: (p) => `You asked for ${p.requested} seat${p.requested === 1 ? '' : 's'}, but only ${p.free} ${p.free === 1 ? 'is' : 'are'} free on your plan (limit ${p.seatLimit}).`,
    pasteBad: (line) => `Line ${line} isn’t “email, name”.`,
  },
  audit: {
    title: 'Audit log', action: 'Action', actor: 'Who', target: 'About', from: 'From', to: 'To', anyAction: 'Any action', anyone: 'Anyone', anything: 'Anyone or anything',
    empty: 'No entries match these filters.', when: 'When', what: 'What happened', loading: 'Loading the audit log…',
    actions: {
      'invite.created': 'Invite sent', 'invite.resent': 'Invite resent', 'invite.revoked': 'Invite revoked', 'invite.expired': 'Invite expired', 'invite.accepted': 'Invite accepted',
      'user.roleChanged': 'Role changed', 'user.suspended': 'User suspended', 'user.reactivated': 'User reactivated', 'user.deleted': 'User deleted', 'user.signedOut': 'Signed out everywhere', 'user.passwordChanged': 'Password changed', 'user.passwordResetSent': 'Password reset sent', 'user.passwordReset': 'Password reset', 'user.mfaEnabled': 'Two-step turned on', 'user.mfaDisabled': 'Two-step turned off', 'user.mfaReset': 'Two-step reset', 'tenant.mfaPolicyChanged': 'Two-step policy changed', 'user.maxChatsChanged': 'Max chats changed', 'user.availabilityChanged': 'Availability set', 'tenant.maxChatsChanged': 'Default max chats changed', 'tenant.groupMappingsChanged': 'Group mappings changed', 'users.exported': 'Users exported', 'audit.exported': 'Audit log exported',
      'tenant.created': 'Company created', 'tenant.tierChanged': 'Plan changed', 'integration.created': 'Integration token made', 'integration.revoked': 'Integration token revoked',
    },
  },
  code: {
    title: 'Enter your code', intro: (email) => `Open your authenticator app and enter the 6-digit code for VeloConnect (${email}).`,
    label: '6-digit code', submit: 'Verify', back: 'Back to sign in',
    wrong: 'That code isn’t right. Codes change every 30 seconds: enter the one your app shows now.',
    tooMany: 'Too many wrong codes. Wait a few minutes, then sign in again.',
    expired: 'This sign-in took too long or had too many tries. Go back and sign in again.',
  },
  mfa: {
    title: 'Two-step verification', on: 'On', off: 'Off', short: '2-step on',
    offHint: 'Sign in with your password and a 6-digit code from an authenticator app on your phone (Google Authenticator, Microsoft Authenticator, 1Password and others), so a stolen password alone can’t open your account.',
    onHint: 'Each sign-in asks for a code from your authenticator app. Lost your phone? Ask an admin to reset it.',
    setUp: 'Set up two-step verification', scan: 'Scan this QR code with your authenticator app.',
    enter: 'Enter the 6-digit code the app shows for VeloConnect.', cantScan: 'Can’t scan it? Enter this key in the app:',
    qrLabel: 'QR code for your authenticator app', turnOn: 'Turn on', turnedOn: 'Two-step verification is on. Your next sign-in asks for a code.',
    password: 'Your password', turnOff: 'Turn off', offIntro: 'To turn it off, confirm with your password and a current code.',
    turnedOff: 'Two-step verification is off.', notOn: 'Two-step verification didn’t turn on. Start the set-up again.',
    required: 'Your company requires two-step verification for admins.', goSetUp: 'Set up two-step verification to continue',
  },
  company: {
    title: 'Company information', plan: 'Plan', seats: 'Seats', capacity: 'Chat capacity',
    maxChats: 'Max chats for people who join', maxChatsHint: 'From 1 to 50. Everyone who joins from now on starts with this; people already here keep theirs (change it on their page).',
    save: 'Save', saved: (n) => `People who join from now on can take ${n} chat${n === 1 ? '' : 's'} at once.`,
  },
  teams: {
    title: 'Teams', intro: 'A team is what its people carry in their Team field. Renaming or merging one moves all of them at once; supervisors see their team under its new name straight away.',
    none: 'No one is in a team yet. Give people a team when you invite them or on their page.',
    team: 'Team', members: 'People', roles: 'Roles', suspended: 'Suspended', invited: 'Invited', noTeam: 'No team',
    byRole: (r) => [r.agent && `${r.agent} agent${r.agent === 1 ? '' : 's'}`, r.supervisor && `${r.supervisor} supervisor${r.supervisor === 1 ? '' : 's'}`, r.admin && `${r.admin} admin${r.admin === 1 ? '' : 's'}`].filter(Boolean).join(', ') || '—',
    rename: 'Rename', merge: 'Merge…', renameLabel: (n) => `Rename ${n}`, mergeLabel: (n) => `Merge ${n} into another team`,
    renameTitle: (n) => `Rename ${n}`, mergeTitle: (n) => `Merge ${n} into another team`,
    people: (m, i) => [`${m} ${m === 1 ? 'person' : 'people'}`, i ? `${i} pending invite${i === 1 ? '' : 's'}` : ''].filter(Boolean).join(' and '),
    renameBody: (c) => `${c} will move to the new name, all at once.`,
    mergeBody: (c) => `${c} will move into the team you choose, and this team will be gone.`,
    newName: 'New name', into: 'Merge into', renameGo: 'Rename', mergeGo: 'Merge',
    mergeInstead: (from, to) => `Merge ${from} into ${to} instead`,
    moved: (r) => (r.kind === 'rename' ? `${r.from} is now ${r.to}` : `${r.from} is merged into ${r.to}`) + ` (${r.members} ${r.members === 1 ? 'person' : 'people'}${r.invites ? `, ${r.invites} invite${r.invites === 1 ? '' : 's'}` : ''} moved).`,
    moving: (m) => `${m.from} is still moving to ${m.to}. Everyone already sees the new name.`, finish: 'Finish now',
  },
  integrations: {
    intro: 'Integration tokens let your company’s own systems read its events (GET /events), and your identity provider manage your people (directory sync, SCIM). Each sends the header Authorization: Bearer <token>.',
    bus: 'Events also reach the company’s EventBridge bus.', none: 'No integration tokens yet.', create: 'Create token',
    cols: ['Name', 'Scopes', 'Created', 'Last used', 'Status'], scope: { 'events:read': 'Read events', scim: 'Directory sync (SCIM)' }, never: 'Never',
    scopes: 'What it may do', pickOne: 'Choose at least one.',
    scimUrl: 'SCIM base URL (your identity provider’s “Tenant URL” or “SCIM connector base URL”)',
    by: (d, n) => `${d} by ${n}`, revoked: (x) => `Revoked ${x}`, revoke: 'Revoke', revokeLabel: (n) => `Revoke ${n}`, revokeTitle: (n) => `Revoke ${n}?`,
    revokeBody: 'Systems using it stop at their next request.', gone: (n) => `${n} is revoked.`,
    token: 'Token', copy: 'Copy', done: 'Done',
    once: 'This is the only time it is shown. Store it in your system’s secret store now.',
  },
  directory: {
    intro: 'Your identity provider (Okta, Microsoft Entra ID) creates, updates and deactivates your people here over SCIM, and its groups can give them a role and a team.',
    connection: 'Connection', url: 'SCIM base URL', used: (d) => `last request ${d}`, unused: 'no request yet',
    last: (d, what) => `Last change ${d}: ${what}`,
    noToken: 'Not connected: no directory sync token yet.', connect: 'Connect a provider (new token)', manage: 'Revoke a token in Integrations',
    mappings: 'Group mappings', cols: ['Group (name or id)', 'Role', 'Team'],
    rule: 'A member of several mapped groups takes the highest role and the team of the first mapping (from the top) that holds them. Once roles or teams are mapped, someone in no mapped group is an agent with no team. Saving moves people at once.',
    keep: '—', add: 'Add mapping', save: 'Save mappings', remove: 'Remove',
    groupOf: (n) => `Group of mapping ${n}`, roleOf: (n) => `Role of mapping ${n}`, teamOf: (n) => `Team of mapping ${n}`, removeOf: (n) => `Remove mapping ${n}`,
    saved: (n) => `Mappings saved. ${n === 1 ? '1 person' : `${n} people`} moved.`,
    groups: 'Groups from your identity provider', members: (n) => `${n} ${n === 1 ? 'member' : 'members'}`, mapped: 'mapped',
    noGroups: 'No groups pushed yet.',
  },
  export: { label: 'Export CSV', busy: 'Exporting…' },
  status: { label: 'Your availability', changed: (a) => `You are now ${a}.` },
  security: {
    title: 'Security', legend: 'Who must use two-step verification',
    off: 'Everyone chooses for themselves', offHint: 'Each person can turn two-step verification on from their profile.',
    admins: 'Require it for admins', adminsHint: 'An admin without it can still sign in, but can’t manage users, invites or the audit log until they set it up.',
    adminsYouFirst: 'Set it up on your own profile first: otherwise you would lock yourself out.',
    save: 'Save', nowRequired: 'Admins now need two-step verification to manage the company.', nowOptional: 'Two-step verification is now each person’s choice.',
  },
  profile: {
    title: 'Your profile', email: 'Email', role: 'Role', team: 'Team', noTeam: 'No team', permissions: 'What you can do', status: 'Status', sees: 'What you see',
    sessions: 'Sessions', sessionsHint: 'Lost a device, or signed in somewhere you shouldn’t stay signed in? End every session at once.',
    signOutEverywhere: 'Sign out everywhere', signOutTitle: 'Sign out everywhere?',
    signOutBody: 'Every session of yours ends now, on every device, this one included. You sign in again with your password.',
    password: 'Password', current: 'Current password', next: 'New password',
    nextHint: 'At least 12 characters, with an upper- and a lower-case letter, a digit and a symbol.',
    change: 'Change password', changing: 'Changing…',
    changed: 'Password changed. Every other session of yours is signed out.',
  },
  dialog: { cancel: 'Cancel', close: 'Close', confirm: 'Confirm' },
  errors: {
    unreachable: 'VeloConnect can’t be reached right now. Check your connection and try again.',
    unavailable: 'Something on our side didn’t respond, and nothing was changed. Try again in a moment.',
    unconfirmed: 'We couldn’t confirm whether this went through. Reload to check before trying again.',
    forbidden: 'Your role doesn’t allow this.',
    generic: 'Something went wrong.',
  },
};

const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
const number = new Intl.NumberFormat(locale);
const relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });

export const fmt = {
  dateTime: (iso) => iso ? dateTime.format(new Date(iso)) : '',
  date: (iso) => iso ? dateOnly.format(new Date(iso)) : '',
  number: (n) => number.format(n),
  zone: () => Intl.DateTimeFormat().resolvedOptions().timeZone,
  /** "Active now" within the 5 minutes a request records, else "Last active 3 hours ago". */
  // The API's `online` decides (the server's clock, as the Online switch's); without it, ours.
  lastActive(iso, online) {
    if (!iso) return s.users.neverActive;
    return (online ?? Date.now() - new Date(iso).getTime() < 5 * 60 * 1000) ? s.users.activeNow : s.users.lastActive(fmt.relative(iso));
  },
  relative(iso) {
    const secs = (new Date(iso).getTime() - Date.now()) / 1000;
    const units = [['year', 31536000], ['month', 2592000], ['week', 604800], ['day', 86400], ['hour', 3600], ['minute', 60]];
    for (const [unit, size] of units) if (Math.abs(secs) >= size) return relative.format(Math.round(secs / size), unit);
    return relative.format(Math.round(secs), 'second');
  },
};
