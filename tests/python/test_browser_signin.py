"""Sign-in in a real browser: Debian's headless chromium, driven through chromium-driver, signs in to `cohort serve`
through a real OIDC login form (the PyPI package oidc-provider-mock, an authlib-based issuer started here), reaches
the home page, uses the AI assist page (words → rule with its count, message suggestions, a campaign summary), is
refused the admin page its role cannot use, and signs out."""
import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest
from oidc_provider_mock import User, run_server_in_thread
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

SCREENSHOTS = pathlib.Path(os.environ.get("COHORT_SCREENSHOTS", tempfile.gettempdir())) / "cohort-browser"
HOSTILE_NAME = "<img src=x onerror=alert(1)>"


@pytest.fixture()
def issuer():
    users = [User(sub="ana", claims={"email": "ana@example.com", "email_verified": True, "name": HOSTILE_NAME})]
    with run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture()
def node(cohort, issuer):
    data = tempfile.mkdtemp(prefix="cohort-browser-")
    environment = dict(os.environ)
    environment.update({
        "COHORT_AUTH_OIDC_ISSUER": issuer, "COHORT_AUTH_OIDC_CLIENT_ID": "cohort-browser-test",
        "COHORT_AUTH_OIDC_CLIENT_SECRET": "browser-secret", "COHORT_AUTH_ALLOWED_DOMAINS": "example.com",
    })
    key = subprocess.run([cohort, "keys", "create", "--data", data, "--scope", "admin"], check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    server = subprocess.Popen([cohort, "serve", "--data", data, "--http", "127.0.0.1:0"], env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        assert line.startswith("listening on "), server.stderr.read()
        base = line.removeprefix("listening on ")
        seed(base, key)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def api(base, key, method, path, body=None):
    request = urllib.request.Request(base + path, method=method, headers={
        "Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def seed(base, key):
    """Three customers (two VIPs in Mumbai) and a launched campaign, folded before the browser arrives."""
    api(base, key, "POST", "/api/v1/customers", [
        {"customer_id": "a", "name": "Asha", "city": "Mumbai", "tags": ["vip"]},
        {"customer_id": "b", "name": "Ravi", "city": "Mumbai", "tags": ["vip"]},
        {"customer_id": "c", "name": "Meera", "city": "Pune"}])
    api(base, key, "POST", "/api/v1/campaigns", {
        "campaign_id": "monsoon", "name": "Monsoon sale", "template": "Hi {{first_name}}",
        "rules": {"field": "city", "op": "eq", "value": "Mumbai"}})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            api(base, key, "GET", "/api/v1/campaigns/monsoon")
            break
        except urllib.error.HTTPError:
            time.sleep(0.05)
    api(base, key, "POST", "/api/v1/campaigns/monsoon/launch", {})


@pytest.fixture()
def browser():
    chromium = shutil.which("chromium")
    driver_path = shutil.which("chromedriver")
    assert chromium and driver_path, "scripts/setup installs chromium and chromium-driver"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1400"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_sign_in_see_home_refused_admin_sign_out(node, browser):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wait = WebDriverWait(browser, 20)
    browser.get(node + "/")
    wait.until(expected_conditions.element_to_be_clickable((By.ID, "sign-in"))).click()

    # The issuer's own login form: type the subject and authorize.
    field = wait.until(expected_conditions.presence_of_element_located((By.NAME, "sub")))
    field.send_keys("ana")
    browser.save_screenshot(str(SCREENSHOTS / "1-issuer-login.png"))
    field.submit()

    signed_in = wait.until(expected_conditions.presence_of_element_located((By.ID, "signed-in-as")))
    assert browser.current_url.rstrip("/") == node
    assert "ana@example.com" in signed_in.text
    assert HOSTILE_NAME in signed_in.text, "the hostile name is shown as text"
    assert not browser.find_elements(By.CSS_SELECTOR, "header img"), "and never becomes markup"
    assert browser.find_element(By.ID, "role").text == "campaigns, read"
    assert not browser.find_elements(By.CSS_SELECTOR, "a[href='/admin']"), "no link to what the role cannot use"
    activity = browser.find_element(By.ID, "activity").text
    assert "created campaign Monsoon sale" in activity and "launched campaign Monsoon sale" in activity, activity
    browser.save_screenshot(str(SCREENSHOTS / "2-home.png"))

    # AI assist: the natural-language box answers with the rule, its live count and where it came from.
    browser.find_element(By.CSS_SELECTOR, "a[href='/assist']").click()
    box = wait.until(expected_conditions.presence_of_element_located((By.ID, "nl-text")))
    box.send_keys("vip customers in Mumbai")
    browser.find_element(By.ID, "nl-parse").click()
    count = wait.until(expected_conditions.presence_of_element_located((By.ID, "nl-count")))
    assert count.text == "Customers: 2"
    assert browser.find_element(By.ID, "nl-source").text == "Source: offline"
    assert "vip" in browser.find_element(By.ID, "nl-english").text.lower()
    browser.find_element(By.ID, "msg-objective").send_keys("win back")
    browser.find_element(By.ID, "msg-suggest").click()
    variants = wait.until(expected_conditions.presence_of_element_located((By.ID, "msg-variants")))
    assert len(variants.find_elements(By.TAG_NAME, "li")) == 3
    browser.find_element(By.ID, "summary-show").click()
    summary = wait.until(expected_conditions.presence_of_element_located((By.ID, "summary-text")))
    assert "Monsoon sale" in summary.text and "2 customers" in summary.text
    browser.save_screenshot(str(SCREENSHOTS / "3-assist.png"))

    browser.get(node + "/admin")
    refused = wait.until(expected_conditions.presence_of_element_located((By.ID, "refused")))
    assert "cannot use this page" in refused.text
    browser.save_screenshot(str(SCREENSHOTS / "4-admin-refused.png"))

    browser.find_element(By.ID, "sign-out").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "sign-in")))
    assert not browser.find_elements(By.ID, "signed-in-as")
    browser.get(node + "/admin")
    wait.until(expected_conditions.presence_of_element_located((By.NAME, "sub")))
    assert not browser.current_url.startswith(node), "signed out: /admin sends the browser to sign in again"
