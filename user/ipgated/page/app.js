// SPDX-License-Identifier: GPL-2.0
// The settings page: talks to /v1 with the token pasted in (kept in the
// tab's sessionStorage, never a cookie). Text from the server is only ever
// set as textContent.
'use strict';

const KEY = 'ipgate.token';
const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem(KEY);
let me = null; // GET /v1/whoami
const views = new Map(); // list name -> view

// el('p', {class: 'x', text: 'y', onclick: f}, child...)
function el(tag, attrs, ...kids) {
	const e = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k === 'text') e.textContent = v;
		else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
		else e.setAttribute(k, v === true ? '' : v);
	}
	for (const c of kids.flat()) if (c) e.append(c);
	return e;
}

async function api(method, path, body, ifMatch) {
	const headers = { Authorization: 'Bearer ' + token };
	if (body !== undefined) headers['Content-Type'] = 'application/json';
	if (ifMatch) headers['If-Match'] = ifMatch;
	let r;
	try {
		r = await fetch(path, { method, headers, cache: 'no-store',
			body: body === undefined ? undefined : JSON.stringify(body) });
	} catch (err) {
		return { status: 0, data: { detail: 'ipgated did not answer: ' + err.message } };
	}
	const ct = r.headers.get('Content-Type') || '';
	const data = ct.includes('json') ? await r.json().catch(() => null) : null;
	if (r.status === 401 && me) signOut('Your token is no longer valid: ' + detail(data));
	return { status: r.status, data: data || {} };
}

const detail = (d) => (d && (d.detail || d.message)) || 'unexpected answer';
const isAdmin = () => me && me.role === 'admin';
const esc = (s) => s.replace(/[^a-z0-9-]/gi, '_');

function status(msg) { $('status').textContent = msg; }

// ---- signing in and out ----

async function signIn(t) {
	token = t;
	const r = await api('GET', '/v1/whoami');
	if (r.status !== 200) {
		token = null;
		sessionStorage.removeItem(KEY);
		return detail(r.data);
	}
	me = r.data;
	sessionStorage.setItem(KEY, t);
	$('login').hidden = true;
	$('session').hidden = false;
	$('who').textContent = `Signed in with token ${me.id} (${me.role}` +
		(me.list ? `, list ${me.list})` : ', every list)');
	$('readonly').hidden = isAdmin();
	await loadLists();
	return null;
}

function signOut(msg) {
	sessionStorage.removeItem(KEY);
	token = null;
	me = null;
	views.clear();
	$('lists').replaceChildren();
	$('session').hidden = true;
	$('login').hidden = false;
	$('token').value = '';
	$('token-error').textContent = msg || '';
	$('token').focus();
}

async function loadLists() {
	const r = await api('GET', '/v1/lists');
	if (r.status !== 200) return status('Cannot read the lists: ' + detail(r.data));
	views.clear();
	$('lists').replaceChildren();
	for (const l of r.data.lists) {
		const v = { name: l.name, box: el('section', { class: 'list', id: 'list-' + esc(l.name),
			'aria-labelledby': 'h-' + esc(l.name) }), audit: [], auditMore: false };
		views.set(l.name, v);
		$('lists').append(v.box);
		await reload(v);
	}
	if (!r.data.lists.length) status('This token sees no list.');
}

// ---- one list ----

const entriesOf = (l) => l.entries.map((e) => ({ cidr: e.cidr, label: e.label, hits: e.hits, expires: e.expires || null }));
const sameAsBase = (v) => JSON.stringify([v.draft.enabled, v.draft.entries.map((e) => [e.cidr, e.label, e.expires || null])]) ===
	JSON.stringify([v.base.enabled, v.base.entries.map((e) => [e.cidr, e.label, e.expires || null])]);

// The list as the server has it; the draft starts over from it.
async function reload(v) {
	const r = await api('GET', '/v1/lists/' + encodeURIComponent(v.name));
	if (r.status !== 200) return status(`Cannot read list ${v.name}: ${detail(r.data)}`);
	setBase(v, r.data);
	v.draft = { enabled: r.data.enabled, entries: entriesOf(r.data) };
	v.conflict = null;
	v.errors = {};
	await loadAudit(v, false);
	render(v);
}

function setBase(v, l) {
	v.base = l;
	v.etag = l.etag;
}

async function loadAudit(v, older) {
	const last = v.audit[v.audit.length - 1];
	const q = older && last ? `&before=${last.seq}` : '';
	const r = await api('GET', `/v1/lists/${encodeURIComponent(v.name)}/audit?limit=20${q}`);
	if (r.status !== 200) return;
	v.audit = older ? v.audit.concat(r.data.records) : r.data.records;
	v.auditMore = r.data.records.length === 20;
}

// Renders @v again, keeping the focus on the control that had it.
function render(v) {
	const had = document.activeElement && document.activeElement.dataset.k;
	const box = v.box, id = esc(v.name), l = v.base, admin = isAdmin();
	const k = (s) => id + '-' + s;
	const err = (key) => el('p', { class: 'error', id: k(key + '-err'), role: 'alert', text: v.errors[key] || '' });
	const input = (key, attrs) => el('input', Object.assign({ id: k(key), 'data-k': key,
		'aria-describedby': k(key + '-err'), 'aria-invalid': v.errors[key] ? 'true' : false }, attrs));

	const where = l.shared ? 'a shared address (checked by /v1/check)' :
		l.addresses.length ? l.addresses.join(', ') : 'the host\'s other addresses';
	const kids = [
		el('h2', { id: 'h-' + id, text: `List ${l.name}` }),
		el('p', { class: 'meta', text: `Protects ${l.protect.join(', ') || 'no port'} on ${where} · ` +
			`${l.count} of ${l.max_entries} entries · generation ${l.generation}` }),
	];
	if (l.override) {
		const o = l.override;
		kids.push(el('p', { class: 'banner', role: 'status', text:
			`Enforcement is suspended: an override of ${o.scope === 'host' ? 'every list' : 'this list'} ` +
			`runs until ${o.until}` + (o.reason ? ` (${o.reason}, by ${o.by})` : ` (by ${o.by})`) +
			'. Every address reaches the API until then.' }));
	}
	if (v.conflict) {
		kids.push(el('div', { class: 'conflict', role: 'alert' },
			el('p', { text: v.conflict }),
			el('button', { type: 'button', class: 'quiet reload', 'data-k': 'reload',
				text: 'Reload the list (drops your changes)', onclick: () => reload(v) })));
	}
	// The toggle.
	kids.push(el('p', { class: 'toggle' },
		el('input', { type: 'checkbox', role: 'switch', id: k('enabled'), 'data-k': 'enabled',
			class: 'enabled', checked: v.draft.enabled, disabled: !admin,
			onchange: (ev) => { v.draft.enabled = ev.target.checked; render(v); } }),
		el('label', { for: k('enabled'), text: 'Enforce this allowlist' }),
		el('span', { class: 'help', text: v.draft.enabled ? '(on: only the entries below reach the API)' :
			'(off: every address reaches the API)' })));
	// The entries.
	const rows = v.draft.entries.map((e, i) => el('tr', { 'data-cidr': e.cidr },
		el('td', { class: 'mono cidr', text: e.cidr },
			e.expires && el('span', { class: 'help expires', text: ` expires ${e.expires}` }), err(`e${i}-cidr`)),
		el('td', {}, admin ?
			[input(`e${i}-label`, { class: 'label', value: e.label, 'aria-label': `Label of ${e.cidr}`,
				oninput: (ev) => { v.draft.entries[i].label = ev.target.value; dirtyNote(v); } }),
			err(`e${i}-label`)] :
			el('span', { class: 'label', text: e.label })),
		el('td', { class: 'num hits', text: e.hits === undefined ? '—' : String(e.hits) }),
		admin && el('td', {}, el('button', { type: 'button', class: 'quiet remove', 'data-k': `rm${i}`,
			'aria-label': `Remove ${e.cidr}`, text: 'Remove', onclick: () => removeEntry(v, i) }))));
	kids.push(el('h3', { text: 'Entries' }), el('table', { class: 'entries' },
		el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Address or range' }),
			el('th', { scope: 'col', text: 'Label' }), el('th', { scope: 'col', class: 'num', text: 'Hits' }),
			admin && el('th', { scope: 'col', text: 'Actions' }))),
		el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { colspan: 4, class: 'help',
			text: 'No entries: with the list enabled, no address reaches the API.' })))));
	if (admin) {
		kids.push(el('form', { class: 'add', novalidate: true, 'aria-label': `Add an entry to ${l.name}`,
			onsubmit: (ev) => { ev.preventDefault(); addEntry(v); } },
			el('div', { class: 'row' },
				el('div', { class: 'field' }, el('label', { for: k('cidr'), text: 'Address or CIDR' }),
					input('cidr', { class: 'add-cidr', placeholder: '203.0.113.0/24', spellcheck: 'false',
						value: v.addCidr || '', oninput: (ev) => { v.addCidr = ev.target.value; } }),
					err('cidr')),
				el('div', { class: 'field' }, el('label', { for: k('label'), text: 'Label' }),
					input('label', { class: 'add-label', placeholder: 'office', value: v.addLabel || '',
						oninput: (ev) => { v.addLabel = ev.target.value; } }),
					err('label')),
				el('button', { type: 'submit', class: 'add-button', 'data-k': 'add', text: 'Add' }))));
		kids.push(el('div', { class: 'row' },
			el('button', { type: 'button', class: 'save', 'data-k': 'save', text: 'Save',
				onclick: () => save(v) }),
			el('button', { type: 'button', class: 'quiet discard', 'data-k': 'discard',
				text: 'Discard changes', onclick: () => reload(v) }),
			el('span', { class: 'dirty', role: 'status', id: k('dirty') })),
		err('save'));
	}
	// Test IP.
	kids.push(el('h3', { text: 'Test an IP address' }),
		el('form', { class: 'test', novalidate: true, 'aria-label': `Test an address against ${l.name}`,
			onsubmit: (ev) => { ev.preventDefault(); testIp(v); } },
			el('div', { class: 'row' },
				el('div', { class: 'field' }, el('label', { for: k('ip'), text: 'IP address' }),
					input('ip', { class: 'test-ip', placeholder: '198.51.100.7', spellcheck: 'false',
						value: v.testIp || '', oninput: (ev) => { v.testIp = ev.target.value; } }),
					err('ip')),
				el('div', { class: 'field' }, el('label', { for: k('port'), text: 'Port' }),
					input('port', { class: 'test-port', placeholder: l.protect[0] || 'tcp/443',
						value: v.testPort || '', oninput: (ev) => { v.testPort = ev.target.value; } }),
					err('port')),
				el('button', { type: 'submit', class: 'test-button', 'data-k': 'test', text: 'Test IP' }))),
		el('p', { class: 'test-result', role: 'status' }, v.testResult || ''));
	// The audit log.
	kids.push(el('h3', { text: 'Audit log' }), auditTable(v));
	if (v.auditMore) {
		kids.push(el('button', { type: 'button', class: 'quiet older', 'data-k': 'older', text: 'Show older',
			onclick: async () => { await loadAudit(v, true); render(v); } }));
	}
	box.replaceChildren(...kids);
	dirtyNote(v);
	if (had) {
		const f = box.querySelector(`[data-k="${had}"]`);
		if (f) f.focus();
	}
}

function dirtyNote(v) {
	const d = $(esc(v.name) + '-dirty');
	if (d) d.textContent = sameAsBase(v) ? '' : 'Unsaved changes';
}

const show = (x) => x === null || x === undefined ? '—' :
	typeof x === 'object' ? JSON.stringify(x) : String(x);

function auditTable(v) {
	if (!v.audit.length) return el('p', { class: 'help', text: 'No records yet.' });
	return el('table', { class: 'audit' },
		el('thead', {}, el('tr', {}, ['When', 'Who', 'What', 'Before → after'].map(
			(t) => el('th', { scope: 'col', text: t })))),
		el('tbody', {}, v.audit.map((a) => el('tr', { 'data-seq': a.seq },
			el('td', { class: 'mono', text: a.time }),
			el('td', { text: a.actor ? a.actor.user + (a.actor.client ? ` (${a.actor.client})` : '') : '' }),
			el('td', { class: 'action', text: a.action }),
			el('td', { class: 'mono change' }, el('span', { class: 'before', text: show(a.before) }),
				el('span', { class: 'arrow', 'aria-label': 'became', text: '→' }),
				el('span', { class: 'after', text: show(a.after) }))))));
}

// ---- changes ----

// The answer to a change: the new list, a conflict, or errors by field.
async function changed(v, r, fieldKey) {
	v.focusKey = null;
	if (r.status === 200 || r.status === 201) {
		const before = new Set(v.base.entries.map((e) => e.cidr));
		const kept = sameAsBase(v) ? null : v.draft;
		setBase(v, r.data);
		v.draft = { enabled: kept ? kept.enabled : r.data.enabled, entries: kept ? kept.entries : entriesOf(r.data) };
		if (kept) // a draft stays, with what was added meanwhile
			for (const e of r.data.entries) if (!before.has(e.cidr)) v.draft.entries.push({ ...e });
		for (const e of v.draft.entries) {
			const s = r.data.entries.find((x) => x.cidr === e.cidr);
			if (s) e.hits = s.hits;
		}
		v.conflict = null;
		v.errors = {};
		await loadAudit(v, false);
		return true;
	}
	v.errors = {};
	if (r.status === 412) {
		v.conflict = `List ${v.name} was changed by someone else since you loaded it; ` +
			'nothing was saved. Reload it to see the change, then make yours again.';
	} else {
		const f = r.data.field;
		const m = f && /^entries\[(\d+)\]\.(cidr|label)$/.exec(f);
		const key = m ? `e${m[1]}-${m[2]}` : f && fieldKey(f);
		v.errors[key || 'save'] = detail(r.data);
		v.focusKey = key && key.endsWith('-cidr') && m ? `rm${m[1]}` : key;
	}
	return false;
}

function focusOn(v, key) {
	const f = key && v.box.querySelector(`[data-k="${key}"]`);
	if (f) f.focus();
}

async function addEntry(v) {
	const body = { cidr: (v.addCidr || '').trim() };
	if ((v.addLabel || '').trim()) body.label = v.addLabel.trim();
	const r = await api('POST', `/v1/lists/${encodeURIComponent(v.name)}/entries`, body, v.etag);
	const ok = await changed(v, r, (f) => (f === 'label' ? 'label' : 'cidr'));
	if (ok) {
		v.addCidr = v.addLabel = '';
		status(`Added ${body.cidr} to ${v.name}.`);
	}
	render(v);
	focusOn(v, ok ? 'cidr' : v.focusKey || (v.conflict ? 'reload' : 'cidr'));
}

function removeEntry(v, i) {
	const gone = v.draft.entries.splice(i, 1)[0];
	status(`${gone.cidr} will be removed from ${v.name} when you save.`);
	render(v);
	focusOn(v, v.draft.entries.length > i ? `rm${i}` : 'cidr');
}

async function save(v) {
	const body = { enabled: v.draft.enabled,
		entries: v.draft.entries.map((e) => ({ cidr: e.cidr, label: e.label, expires: e.expires || null })) };
	const r = await api('PUT', '/v1/lists/' + encodeURIComponent(v.name), body, v.etag);
	const ok = await changed(v, r, () => 'save');
	if (ok) status(`Saved list ${v.name}.`);
	render(v);
	focusOn(v, ok ? 'save' : v.focusKey || (v.conflict ? 'reload' : 'save'));
}

async function testIp(v) {
	const body = { ip: (v.testIp || '').trim() };
	if ((v.testPort || '').trim()) body.port = v.testPort.trim();
	const r = await api('POST', `/v1/lists/${encodeURIComponent(v.name)}/test`, body);
	v.errors = {};
	if (r.status === 200) {
		const t = r.data;
		v.testResult = el('span', {},
			`${t.ip} to ${t.port} on ${t.to}: `,
			el('span', { class: 'verdict verdict-' + t.verdict, text: t.verdict }),
			` (${t.reason})`,
			t.entry ? el('span', { class: 'match', text: ` by entry ${t.entry.cidr}` +
				(t.entry.label ? ` “${t.entry.label}”` : '') }) : ' — no entry matches');
	} else {
		v.testResult = null;
		v.errors[r.data.field === 'port' ? 'port' : 'ip'] = detail(r.data);
	}
	render(v);
	focusOn(v, r.status === 200 ? 'test' : (r.data.field === 'port' ? 'port' : 'ip'));
}

// ---- start ----

document.addEventListener('DOMContentLoaded', () => {
	$('login-form').addEventListener('submit', async (ev) => {
		ev.preventDefault();
		const t = $('token').value.trim();
		$('token-error').textContent = '';
		if (!t) {
			$('token-error').textContent = 'Paste a token first.';
			return $('token').focus();
		}
		const e = await signIn(t);
		if (e) {
			$('token-error').textContent = e;
			$('token').setAttribute('aria-invalid', 'true');
			$('token').focus();
		}
	});
	$('logout').addEventListener('click', () => signOut(''));
	if (token) signIn(token).then((e) => e && signOut(e));
	else $('token').focus();
});
