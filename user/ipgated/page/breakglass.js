// SPDX-License-Identifier: GPL-2.0
// The break-glass page: the key goes to POST /v1/breakglass, which lets in
// the address this very connection comes from. The key is kept nowhere.
'use strict';

const $ = (id) => document.getElementById(id);

async function submitKey(ev) {
	ev.preventDefault();
	const key = $('key').value.trim();
	$('key-error').textContent = '';
	$('granted').textContent = '';
	$('key').removeAttribute('aria-invalid');
	if (!key) {
		$('key-error').textContent = 'Paste your break-glass key first.';
		return $('key').focus();
	}
	$('key-submit').disabled = true;
	let r, data = {};
	try {
		r = await fetch('/v1/breakglass', { method: 'POST', cache: 'no-store',
			headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ key }) });
		data = await r.json().catch(() => ({}));
	} catch (err) {
		data = { detail: 'the server did not answer: ' + err.message };
	}
	$('key-submit').disabled = false;
	if (r && r.status === 200) {
		$('key').value = '';
		$('granted').textContent = `Done: ${data.address} may reach ` +
			(data.list ? `list ${data.list}'s` : 'the') +
			` protected ports until ${data.until} (key ${data.key}).`;
		return $('key-submit').focus();
	}
	$('key-error').textContent = data.detail || `refused (HTTP ${r ? r.status : 'error'})`;
	$('key').setAttribute('aria-invalid', 'true');
	$('key').focus();
}

document.addEventListener('DOMContentLoaded', () => {
	$('key-form').addEventListener('submit', submitKey);
	$('key').focus();
});
