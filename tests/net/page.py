#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The settings page and the break-glass page in headless Chromium.

page.py SCENARIO [ARGS]; the page's base URL is $PAGE_URL, the token
$PAGE_TOKEN, the break-glass key $PAGE_KEY (never on the command line).
Prints "ok WHAT" or "FAIL WHAT" per check and exits 1 on any failure. Every
scenario ends by reading the browser's console for Content-Security-Policy
violations and script errors. The browser and its profile are removed on
every exit path; waits are bounded at 20 s and nothing is timed.
"""
import json
import os
import shutil
import ssl
import sys
import tempfile
import traceback
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (StaleElementReferenceException,
                                        TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

WAIT = 20
URL = os.environ.get("PAGE_URL", "")
failures = 0


class Stop(Exception):
    """A check failed that later ones depend on."""


def check(cond, what):
    global failures
    print(("ok " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures += 1
    return cond


def must(cond, what):
    if not check(cond, what):
        raise Stop(what)


def start_browser(profile):
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--ignore-certificate-errors",
              "--user-data-dir=" + profile, "--no-first-run",
              "--disable-extensions", "--disable-sync",
              "--disable-background-networking", "--disable-component-update",
              "--disable-features=Translate,MediaRouter,OptimizationHints"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"),
                            options=o)


def until(d, fn, what):
    """Waits (bounded) for fn(d) to be true; a timeout fails the check."""
    try:
        WebDriverWait(d, WAIT, ignored_exceptions=[
            StaleElementReferenceException]).until(lambda d: fn(d))
        return True
    except TimeoutException:
        return False


def text_of(d, css):
    els = d.find_elements(By.CSS_SELECTOR, css)
    return " | ".join(e.text for e in els)


def wait_text(d, css, want, what):
    ok = until(d, lambda d: want in text_of(d, css), what)
    must(ok, f"{what} (wanted \"{want}\" in {css}, got \"{text_of(d, css)}\")")


def api(method, path, body=None, if_match=None):
    """The API outside the page (someone else at work meanwhile)."""
    req = urllib.request.Request(URL + path, method=method,
                                 data=json.dumps(body).encode() if body else None)
    req.add_header("Authorization", "Bearer " + os.environ["PAGE_TOKEN"])
    if body:
        req.add_header("Content-Type", "application/json")
    if if_match:
        req.add_header("If-Match", if_match)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=WAIT) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def in_page_fetch(d, method, path, body=None):
    """A request made by hand from the page, with the token it keeps."""
    return d.execute_async_script("""
        const [method, path, body, done] = arguments;
        fetch(path, {method, headers: {'Content-Type': 'application/json',
            'Authorization': 'Bearer ' + sessionStorage.getItem('ipgate.token')},
            body: body === null ? undefined : body})
          .then((r) => done(r.status), (e) => done('error ' + e));
    """, method, path, None if body is None else json.dumps(body))


def sign_in(d, list_names):
    d.get(URL + "/")
    tok = d.find_element(By.ID, "token")
    must(d.switch_to.active_element == tok, "the token field has the focus")
    # Keyboard only: type, then Enter submits the form.
    tok.send_keys(os.environ["PAGE_TOKEN"], Keys.ENTER)
    for n in list_names:
        wait_text(d, f"#list-{n} h2", f"List {n}", f"list {n} shown")
    check(d.execute_script("return document.cookie") == "",
          "no cookie is set")
    check(d.execute_script("return sessionStorage.getItem('ipgate.token')")
          == os.environ["PAGE_TOKEN"], "the token is in sessionStorage")


def rows(d, name):
    return [e.get_attribute("data-cidr") for e in
            d.find_elements(By.CSS_SELECTOR, f"#list-{name} table.entries tr[data-cidr]")]


def tenant(d, name, client, outsider):
    """An admin token of one list: add (a refused one, then a good one),
    save a label, a conflict that is shown and not overwritten, Test IP,
    the audit row."""
    sign_in(d, [name])
    box = f"#list-{name}"
    cidr = d.find_element(By.CSS_SELECTOR, f"{box} .add-cidr")
    label = d.find_element(By.CSS_SELECTOR, f"{box} .add-label")
    # Tab order: the address, its label, then Add.
    cidr.click()
    d.switch_to.active_element.send_keys(Keys.TAB)
    check(d.switch_to.active_element == label, "Tab goes from the address to the label")
    d.switch_to.active_element.send_keys(Keys.TAB)
    check(d.switch_to.active_element.get_attribute("class") == "add-button",
          "then to the Add button")

    cidr.send_keys("203.0.113.7/24", Keys.ENTER)
    wait_text(d, f"{box} #{name}-cidr-err",
              "has host bits set; did you mean 203.0.113.0/24?",
              "the server's host-bits error is shown next to the field")
    cidr = d.find_element(By.CSS_SELECTOR, f"{box} .add-cidr")
    check(cidr.get_attribute("aria-invalid") == "true", "the field is marked invalid")
    check(d.switch_to.active_element == cidr, "the focus is back on the field")
    check(not any(r.startswith("203.0.113") for r in rows(d, name)),
          "the refused entry is not in the list")

    cidr.send_keys(Keys.CONTROL, "a")
    cidr.send_keys(client)
    label = d.find_element(By.CSS_SELECTOR, f"{box} .add-label")
    label.send_keys("office", Keys.ENTER)
    must(until(d, lambda d: f"{client}" in rows(d, name), "row"),
         f"{client} is added (rows: {rows(d, name)})")
    check(text_of(d, f"{box} #{name}-cidr-err") == "", "the error is gone")

    # A label changed and saved: the whole list with If-Match.
    lab = d.find_element(By.CSS_SELECTOR, f"{box} tr[data-cidr='{client}'] input.label")
    lab.send_keys(" HQ")
    wait_text(d, f"{box} .dirty", "Unsaved changes", "unsaved changes are shown")
    d.find_element(By.CSS_SELECTOR, f"{box} button.save").send_keys(Keys.SPACE)
    wait_text(d, "#status", f"Saved list {name}", "Save succeeds")
    st, lst = api("GET", f"/v1/lists/{name}")
    check(st == 200 and any(e["cidr"] == f"{client}" and e["label"] == "office HQ"
                            for e in lst["entries"]), "the server has the saved label")
    if name == "acme":
        check(any(e["cidr"] == "192.0.2.51" and e["expires"] == "2030-01-01T00:00:00Z"
                  for e in lst["entries"]), "Save keeps an entry's expiry")
        check("2030-01-01T00:00:00Z" in text_of(d, f"{box} tr[data-cidr='192.0.2.51'] .expires"),
              "the page shows the expiry")

    # Someone else changes the list; this page's Save is refused, shown,
    # and overwrites nothing; Reload shows their change.
    st, _ = api("POST", f"/v1/lists/{name}/entries",
                {"cidr": "192.0.2.99", "label": "meanwhile"})
    must(st == 201, f"a change made meanwhile through the API (HTTP {st})")
    lab = d.find_element(By.CSS_SELECTOR, f"{box} tr[data-cidr='{client}'] input.label")
    lab.send_keys(" 2")
    d.find_element(By.CSS_SELECTOR, f"{box} button.save").send_keys(Keys.SPACE)
    wait_text(d, f"{box} .conflict", "changed by someone else",
              "the conflict is shown")
    st, lst = api("GET", f"/v1/lists/{name}")
    check(any(e["cidr"] == "192.0.2.99" for e in lst["entries"]) and
          not any(e["label"] == "office HQ 2" for e in lst["entries"]),
          "the conflicting Save overwrote nothing")
    check(d.switch_to.active_element.get_attribute("data-k") == "reload",
          "the focus is on Reload")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    must(until(d, lambda d: "192.0.2.99" in rows(d, name), "reload"),
         "Reload shows the change made meanwhile")
    check(not d.find_elements(By.CSS_SELECTOR, f"{box} .conflict"),
          "the conflict notice is gone")

    # Test IP: the client matches its entry, the outsider does not.
    ip = d.find_element(By.CSS_SELECTOR, f"{box} .test-ip")
    ip.send_keys(client, Keys.ENTER)
    wait_text(d, f"{box} .test-result .verdict", "allowed", "Test IP: the client is allowed")
    wait_text(d, f"{box} .test-result .match", f"{client} “office HQ”",
              "Test IP: the matching entry is shown")
    ip = d.find_element(By.CSS_SELECTOR, f"{box} .test-ip")
    ip.send_keys(Keys.CONTROL, "a")
    ip.send_keys(outsider, Keys.ENTER)
    wait_text(d, f"{box} .test-result .verdict", "blocked", "Test IP: the outsider is blocked")
    check("no entry matches" in text_of(d, f"{box} .test-result"), "with no entry")

    # The audit log: the add, before -> after.
    must(until(d, lambda d: any(
        "add" in r.find_element(By.CSS_SELECTOR, ".action").text and
        client in r.find_element(By.CSS_SELECTOR, ".after").text
        for r in d.find_elements(By.CSS_SELECTOR, f"{box} table.audit tbody tr")), "audit"),
        "the audit log shows the add")
    check(f"token:acme-admin" in text_of(d, f"{box} table.audit"),
          "the audit log names the token")
    check("→" in text_of(d, f"{box} table.audit .change"), "before → after")


def viewer(d, name, other, *secrets):
    """A viewer token of one list: read-only, the other list (holding
    @secrets) hidden."""
    sign_in(d, [name])
    box = f"#list-{name}"
    wait_text(d, "#readonly", "read-only", "read-only is said")
    check(len(rows(d, name)) >= 1, "the entries are shown")
    check(text_of(d, f"{box} .hits") != "", "with their hit counts")
    for css in (".add", ".add-cidr", "button.save", "button.remove", "input.label"):
        check(not d.find_elements(By.CSS_SELECTOR, f"{box} {css}"), f"no {css}")
    check(not d.find_element(By.CSS_SELECTOR, f"{box} input.enabled").is_enabled(),
          "the toggle is disabled")
    check(not d.find_elements(By.ID, f"list-{other}"), f"list {other} is not shown")
    for secret in secrets:
        check(secret not in d.find_element(By.TAG_NAME, "body").text,
              f"\"{secret}\" of list {other} appears nowhere on the page")
    check(len(d.find_elements(By.CSS_SELECTOR, "#lists > section")) == 1,
          "only its own list is shown")
    # Forced by hand: refused.
    st = in_page_fetch(d, "POST", f"/v1/lists/{name}/entries", {"cidr": "192.0.2.1"})
    check(st == 403, f"a forced add answers 403 (got {st})")
    st = in_page_fetch(d, "POST", f"/v1/lists/{name}/disable")
    check(st == 403, f"a forced disable answers 403 (got {st})")
    st = in_page_fetch(d, "PUT", f"/v1/lists/{name}", {"enabled": False, "entries": []})
    check(st in (403, 428), f"a forced save is refused (got {st})")
    st = in_page_fetch(d, "GET", f"/v1/lists/{other}")
    check(st == 404, f"list {other} answers 404 (got {st})")
    # Test IP is a read: allowed.
    ip = d.find_element(By.CSS_SELECTOR, f"{box} .test-ip")
    ip.send_keys("192.0.2.50", Keys.ENTER)
    wait_text(d, f"{box} .test-result .verdict", "allowed", "Test IP works read-only")


def breakglass(d, expect, address=None):
    """The break-glass page with $PAGE_KEY: granted (to @address) or refused."""
    d.get(URL + "/breakglass")
    key = d.find_element(By.ID, "key")
    must(d.switch_to.active_element == key, "the key field has the focus")
    key.send_keys(os.environ["PAGE_KEY"], Keys.ENTER)
    if expect == "granted":
        wait_text(d, "#granted", f"Done: {address} may reach",
                  "the page says which address was let in")
        check(text_of(d, "#key-error") == "", "no error")
    else:
        wait_text(d, "#key-error", "not accepted", "the key is refused")
        check(text_of(d, "#granted") == "", "nothing was granted")


def csp(d):
    """Every page and action that renders: the console stays clean."""
    sign_in(d, ["default", "acme", "beta"])
    box = "#list-acme"
    d.find_element(By.CSS_SELECTOR, f"{box} .add-cidr").send_keys("bogus", Keys.ENTER)
    wait_text(d, f"{box} #acme-cidr-err", "bogus", "an error is rendered")
    d.find_element(By.CSS_SELECTOR, f"{box} .test-ip").send_keys("192.0.2.50", Keys.ENTER)
    wait_text(d, f"{box} .test-result .verdict", "allowed", "a test result is rendered")
    d.find_element(By.ID, "logout").send_keys(Keys.ENTER)
    must(until(d, lambda d: d.find_element(By.ID, "token").is_displayed(), "out"),
         "signing out shows the sign-in form")
    check(d.execute_script("return sessionStorage.getItem('ipgate.token')") is None,
          "signing out forgets the token")
    d.get(URL + "/breakglass")
    must(until(d, lambda d: d.find_element(By.ID, "key").is_displayed(), "bg"),
         "the break-glass page renders")
    d.get(URL + "/favicon.ico")


def console_clean(d):
    bad = [e["message"] for e in d.get_log("browser")
           if "Content Security Policy" in e["message"] or
           "Refused to" in e["message"] or "Uncaught" in e["message"]]
    check(not bad, "no CSP violation or script error in the console" +
          (": " + "; ".join(bad) if bad else ""))


SCENARIOS = {"tenant": tenant, "viewer": viewer, "breakglass": breakglass,
             "csp": csp}


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in SCENARIOS:
        print("usage: page.py tenant|viewer|breakglass|csp [ARGS]", file=sys.stderr)
        return 2
    profile = tempfile.mkdtemp(prefix="page-profile-")
    d = None
    try:
        d = start_browser(profile)
        d.set_script_timeout(WAIT)
        SCENARIOS[sys.argv[1]](d, *sys.argv[2:])
        console_clean(d)
    except Stop:
        pass
    except WebDriverException as e:
        where = traceback.extract_tb(e.__traceback__)[-2]
        check(False, f"the browser, at page.py:{where.lineno}: {e.msg}")
    finally:
        if d:
            d.quit()
        shutil.rmtree(profile, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
