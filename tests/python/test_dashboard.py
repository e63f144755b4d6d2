"""The dashboard in a real browser: Debian's headless chromium (through chromium-driver) against the real
`cohort serve` with generated customers and the real `cohort vendor-sim`, signed in with the node's one-time link.

One node serves the whole module; the tests run in file order and build on each other (a saved segment becomes a
campaign's audience). Every count the page shows is compared with the API's answer for the same rule, and the
campaign's stats with the vendor's own counters. Screenshots of every page at 390 px and 1440 px are written to
`COHORT_SCREENSHOTS` (default `.build/screenshots`)."""
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
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCREENSHOTS = pathlib.Path(os.environ.get("COHORT_SCREENSHOTS", ROOT / ".build" / "screenshots"))
XSS_NAME = "<img src=x onerror=alert(1)>"


def start(arguments, **kwargs):
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    line = process.stdout.readline().strip()
    assert line.startswith("listening on "), process.stderr.read()
    return process, line.removeprefix("listening on ")


def call(base, method, path, body=None, key=None):
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(base + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def until(condition, timeout=60, what="condition"):
    """Polls `condition` until it returns a truthy value (returned) or `timeout` seconds pass (fails)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = condition()
            if last:
                return last
        except (urllib.error.URLError, KeyError, ValueError):
            pass
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what} (last: {last!r})")


class Node:
    def __init__(self, base, key, vendor):
        self.base, self.key, self.vendor = base, key, vendor

    def api(self, method, path, body=None):
        return call(self.base, method, path, body, self.key)


@pytest.fixture(scope="module")
def node(cohort):
    data = tempfile.mkdtemp(prefix="cohort-dashboard-")
    processes = []
    try:
        subprocess.run([cohort, "generate", "--data", data, "--into-log", "--customers", "3000", "--orders", "9000",
                        "--visits", "6000", "--start", "recent"], check=True, capture_output=True, timeout=300)
        key = subprocess.run([cohort, "keys", "create", "--data", data, "--scope", "admin"], check=True,
                             capture_output=True, text=True, timeout=60).stdout.strip()
        vendor_process, vendor = start([cohort, "vendor-sim", "--http", "127.0.0.1:0", "--success-rate", "0.8"])
        processes.append(vendor_process)
        server, base = start([cohort, "serve", "--data", data, "--http", "127.0.0.1:0", "--sign-in-link",
                              "ana@example.com", "--set", f"vendor.url={vendor}"])
        processes.append(server)
        link = server.stdout.readline().strip()
        assert "sign in" in link, link
        node = Node(base, key, vendor)
        node.sign_in_link = link.split(": ", 1)[1]
        call(vendor, "POST", "/v1/webhooks", {"receipts_url": f"{base}/api/v1/receipts"})
        node.api("POST", "/api/v1/customers", [{"customer_id": "zz-xss", "name": XSS_NAME, "city": "Mumbai",
                                                 "email": "xss@example.com", "tags": ["vip"]}])
        until(lambda: call(base, "GET", "/readyz")["ready"], what="the node to catch up")
        until(lambda: node.api("GET", "/api/v1/customers/zz-xss"), what="the XSS customer to fold")
        yield node
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="module")
def browser(node):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1440,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    driver.get(node.sign_in_link)
    WebDriverWait(driver, 20).until(expected_conditions.presence_of_element_located((By.ID, "signed-in-as")))
    yield driver
    driver.quit()


def wait(browser, timeout=20):
    """Waits out re-rendering too: a page replaces its rows when data arrives."""
    return WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException])


def loaded(browser, path, node):
    browser.get(node.base + path)
    wait(browser).until(lambda b: b.find_element(By.ID, "app").get_attribute("data-loaded") == "true")


def press(browser, element):
    """Clicks `element` after scrolling it to the middle of the window (as a person would)."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def text_of(browser, css):
    """The text of the element `css` names, read in one script (pages re-render their live parts)."""
    return browser.execute_script("return document.querySelector(arguments[0])?.innerText ?? ''", css)


def console_errors(browser):
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def shown_count(browser):
    box = browser.find_element(By.ID, "count")
    value = box.get_attribute("data-count")
    return int(value) if value else None


def conditions(scope):
    return scope.find_elements(By.CSS_SELECTOR, ":scope > .rule-children > .rule-condition")


def set_condition(condition, field, op, value):
    Select(condition.find_element(By.CSS_SELECTOR, ".cond-field")).select_by_value(field)
    Select(condition.find_element(By.CSS_SELECTOR, ".cond-op")).select_by_value(op)
    box = condition.find_element(By.CSS_SELECTOR, ".cond-input")
    box.clear()
    box.send_keys(str(value))


def drag(browser, handle, target):
    """Drags by `handle` onto the lower part of `target` the way a hand does: press, move in small steps, pause,
    release (SortableJS follows pointer events; its fallback mode is what it uses for touch as well)."""
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", target)
    start, goal = handle.rect, target.rect
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + start["height"] / 2
    x1, y1 = goal["x"] + 40, goal["y"] + goal["height"] * 0.8
    actions = ActionChains(browser, duration=20)
    actions.move_to_element(handle).click_and_hold().pause(0.1)
    steps = 12
    for step in range(1, steps + 1):
        actions.move_by_offset((x1 - x0) / steps, (y1 - y0) / steps).pause(0.03)
    actions.pause(0.2).release().perform()


def count_settles_on(browser, node, rule):
    """The page's count once it equals the API's count for `rule` (fails if it never does)."""
    expected = node.api("POST", "/api/v1/segments/preview", {"rules": rule})["count"]
    try:
        wait(browser).until(lambda b: shown_count(b) == expected)
    except TimeoutException:
        problems = [box.text for box in browser.find_elements(By.CSS_SELECTOR, ".rule-problem") if box.text]
        problems.append(browser.execute_script("""return [...document.querySelectorAll('.rule-condition')].map(c =>
            [c.querySelector('.cond-field').value, c.querySelector('.cond-op').value,
             [...c.querySelectorAll('.cond-input')].map(i => i.value + ':' + i.type)])"""))
        pytest.fail(f"the page shows {shown_count(browser)}, the API {expected} for {rule}; problems: {problems}; "
                    f"log: {browser.get_log('browser')}")
    return expected


def test_overview_shows_the_read_models(node, browser):
    loaded(browser, "/", node)
    overview = node.api("GET", "/api/v1/overview")
    customers = browser.find_element(By.CSS_SELECTOR, "[data-figure='Customers']").text
    assert customers.replace(",", "") == str(overview["customers"])
    revenue = text_of(browser, "#fig-revenue")
    assert revenue.startswith("₹"), revenue
    # Indian grouping: the last group has three digits, the ones before it two (₹2,04,44,531.00).
    whole = revenue.removeprefix("₹").split(".")[0].split(",")
    assert len(whole[-1]) == 3 and all(len(group) == 2 for group in whole[1:-1]), revenue
    assert sum(int(day["orders"]) for day in overview["daily"]) > 0, "the demo's orders are recent"
    assert browser.execute_script("return !!Chart.getChart('revenue-chart')"), "the revenue chart is drawn"
    assert not console_errors(browser)


def test_customer_search_paging_and_an_inert_hostile_name(node, browser):
    loaded(browser, "/customers", node)
    rows = browser.find_elements(By.CSS_SELECTOR, "#customers tbody tr")
    assert len(rows) == 50
    first_page = rows[0].text
    press(browser, browser.find_element(By.ID, "next"))
    wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#customers tbody tr")[0].text != first_page)
    # The demo data is dated up to yesterday: no "days since" is negative.
    for customer in node.api("GET", "/api/v1/customers?limit=1000")["customers"]:
        for field in ("days_since_last_order", "days_since_last_visit", "days_inactive", "days_since_signup"):
            assert customer[field] is None or customer[field] >= 0, (customer["customer_id"], field)
    search = browser.find_element(By.ID, "q")
    search.send_keys("onerror", Keys.ENTER)
    wait(browser).until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#customers tbody tr")) == 1)
    row = browser.find_element(By.CSS_SELECTOR, "#customers tbody tr")
    assert XSS_NAME in row.text, "the name is shown as text"
    assert not browser.find_elements(By.CSS_SELECTOR, "#customers img"), "and never becomes markup"
    row.find_element(By.LINK_TEXT, "zz-xss").click()
    wait(browser).until(lambda b: b.find_element(By.ID, "app").get_attribute("data-loaded") == "true")
    assert browser.find_element(By.ID, "customer-name").text == XSS_NAME
    assert not browser.find_elements(By.CSS_SELECTOR, "main img")
    with pytest.raises(Exception):
        browser.switch_to.alert.text  # no alert ever opened
    assert not console_errors(browser)


def test_customer_profile_timeline_and_payload(node, browser):
    customer = node.api("GET", "/api/v1/customers?limit=1")["customers"][0]
    loaded(browser, f"/customers/{customer['customer_id']}", node)
    timeline = node.api("GET", f"/api/v1/customers/{customer['customer_id']}/events?limit=25")["events"]
    items = browser.find_elements(By.CSS_SELECTOR, "#timeline li")
    assert len(items) == len(timeline)
    assert timeline[0]["type"].removeprefix("crm.") in items[0].text, "newest first, as the API"
    items[0].find_element(By.CSS_SELECTOR, "button").click()
    payload = wait(browser).until(lambda b: b.find_element(By.CSS_SELECTOR, "#timeline li pre.payload"))
    assert json.loads(payload.text)["id"] == timeline[0]["event_id"], "the event's own payload, from the log"
    profile = browser.find_element(By.ID, "profile").text
    assert customer["customer_id"] in profile and str(customer["order_count"]) in profile


def test_builder_drag_and_drop_nested_rule(node, browser):
    loaded(browser, "/segments/new", node)
    root = browser.find_element(By.CSS_SELECTOR, "#rule-root > .rule-group")
    set_condition(conditions(root)[0], "total_spend", "gte", 5000)
    root.find_element(By.CSS_SELECTOR, ":scope > .group-head .add-condition").click()
    set_condition(conditions(root)[1], "city", "eq", "Mumbai")
    root.find_element(By.CSS_SELECTOR, ":scope > .group-head .add-group").click()
    group = root.find_element(By.CSS_SELECTOR, ":scope > .rule-children > .rule-group")
    Select(group.find_element(By.CSS_SELECTOR, ".group-kind")).select_by_value("or")
    set_condition(conditions(group)[0], "tags", "contains", "vip")
    count_settles_on(browser, node, {"and": [
        {"field": "total_spend", "op": "gte", "value": 5000}, {"field": "city", "op": "eq", "value": "Mumbai"},
        {"or": [{"field": "tags", "op": "contains", "value": "vip"}]}]})

    # Drag the city condition into the OR group, below its tags condition.
    handle = conditions(root)[1].find_element(By.CSS_SELECTOR, ".drag-handle")
    target = conditions(group)[0]
    drag(browser, handle, target)
    wait(browser).until(lambda b: len(conditions(group)) == 2)
    assert len(conditions(root)) == 1, "the condition left the outer group"
    rule = {"and": [{"field": "total_spend", "op": "gte", "value": 5000}, {"or": [
        {"field": "tags", "op": "contains", "value": "vip"}, {"field": "city", "op": "eq", "value": "Mumbai"}]}]}
    expected = count_settles_on(browser, node, rule)
    assert expected > 0
    assert "Mumbai" in browser.find_element(By.ID, "english").text

    # By keyboard: ← takes the city condition out of the OR group, → puts it back into the group above it.
    city = next(c for c in conditions(group)
                if Select(c.find_element(By.CSS_SELECTOR, ".cond-field")).first_selected_option.text == "city")
    city.find_element(By.CSS_SELECTOR, ".drag-handle").send_keys(Keys.ARROW_LEFT)
    wait(browser).until(lambda b: len(conditions(root)) == 2 and len(conditions(group)) == 1)
    count_settles_on(browser, node, {"and": [
        {"field": "total_spend", "op": "gte", "value": 5000}, {"or": [{"field": "tags", "op": "contains", "value": "vip"}]},
        {"field": "city", "op": "eq", "value": "Mumbai"}]})
    city.find_element(By.CSS_SELECTOR, ".drag-handle").send_keys(Keys.ARROW_RIGHT)
    wait(browser).until(lambda b: len(conditions(root)) == 1 and len(conditions(group)) == 2)
    count_settles_on(browser, node, rule)

    # NOT on the group: the count is the complement within the outer condition.
    group.find_element(By.CSS_SELECTOR, ":scope > .group-head .group-not").click()
    count_settles_on(browser, node, {"and": [rule["and"][0], {"not": rule["and"][1]}]})
    group.find_element(By.CSS_SELECTOR, ":scope > .group-head .group-not").click()
    count_settles_on(browser, node, rule)
    assert not console_errors(browser)


def test_builder_counts_as_you_type_and_shows_problems_where_they_are(node, browser):
    root = browser.find_element(By.CSS_SELECTOR, "#rule-root > .rule-group")
    spend = conditions(root)[0].find_element(By.CSS_SELECTOR, ".cond-input")
    before = shown_count(browser)
    spend.send_keys("0")  # 5000 → 50000
    rule = {"and": [{"field": "total_spend", "op": "gte", "value": 50000}, {"or": [
        {"field": "tags", "op": "contains", "value": "vip"}, {"field": "city", "op": "eq", "value": "Mumbai"}]}]}
    after = count_settles_on(browser, node, rule)
    assert after != before
    assert "ms" in browser.find_element(By.ID, "took").text
    timings = browser.execute_script("return window.cohortTimings")
    assert timings and all(value >= 0 for value in timings)

    spend.clear()  # an empty amount is caught in the page, at its condition, without asking the server
    problem = wait(browser).until(lambda b: conditions(root)[0].find_element(By.CSS_SELECTOR, ".rule-problem"))
    wait(browser).until(lambda b: problem.is_displayed() and problem.text == "Enter a value.")
    assert shown_count(browser) is None
    spend.send_keys("50000")
    count_settles_on(browser, node, rule)
    assert not problem.is_displayed()

    # A date the server cannot read: its problem (pointer /and/1/or/1/value) is shown at that condition.
    group = root.find_element(By.CSS_SELECTOR, ":scope > .rule-children > .rule-group")
    city = next(c for c in conditions(group)
                if Select(c.find_element(By.CSS_SELECTOR, ".cond-field")).first_selected_option.text == "city")
    set_condition(city, "last_order_at", "gte", "yesterday")
    problem = city.find_element(By.CSS_SELECTOR, ".rule-problem")
    wait(browser).until(lambda b: problem.is_displayed() and problem.text)
    assert "is-invalid" in city.get_attribute("class")
    assert not conditions(root)[0].find_element(By.CSS_SELECTOR, ".rule-problem").is_displayed()
    browser.get_log("browser")  # the 422 answer is logged as a failed request; not an error of the page
    set_condition(city, "city", "eq", "Mumbai")
    count_settles_on(browser, node, rule)


def test_builder_words_to_rule_explain_and_save(node, browser):
    box = browser.find_element(By.ID, "nl-text")
    box.clear()
    box.send_keys("Mumbai VIPs")
    browser.find_element(By.ID, "nl-apply").click()
    parsed = node.api("POST", "/api/v1/segments/parse", {"text": "Mumbai VIPs"})
    wait(browser).until(lambda b: shown_count(b) == parsed["count"])
    assert "offline" in browser.find_element(By.ID, "nl-status").text

    browser.find_element(By.ID, "explain-id").send_keys("zz-xss")
    browser.find_element(By.ID, "explain").click()
    verdict = wait(browser).until(lambda b: b.find_element(By.ID, "explain-verdict"))
    assert verdict.text == "zz-xss is in the audience"

    browser.find_element(By.ID, "seg-name").send_keys("Mumbai VIPs")
    browser.find_element(By.ID, "save").click()
    status = wait(browser).until(lambda b: b.find_element(By.ID, "save-status").get_attribute("data-saved"))
    saved = until(lambda: node.api("GET", f"/api/v1/segments/{status}"), what="the saved segment")
    assert saved["name"] == "Mumbai VIPs" and saved["size"] == parsed["count"]
    assert browser.current_url.endswith(f"/segments/{status}")
    csv = browser.find_element(By.ID, "csv").get_attribute("href")
    assert csv.endswith(f"/api/v1/segments/{status}/members?format=csv")
    # The export as the browser downloads it, with the session: a header line and one line per member.
    lines = browser.execute_async_script(
        "const done = arguments[1]; fetch(arguments[0]).then(r => r.text()).then(t => done(t.trim().split('\\n')))",
        csv)
    assert len(lines) == saved["size"] + 1 and "zz-xss" in "\n".join(lines)
    node.segment_id = status


def test_an_unsaved_rule_becomes_a_campaign_audience(node, browser):
    loaded(browser, "/segments/new", node)
    box = browser.find_element(By.ID, "nl-text")
    box.send_keys("Pune VIPs")
    browser.find_element(By.ID, "nl-apply").click()
    parsed = node.api("POST", "/api/v1/segments/parse", {"text": "Pune VIPs"})
    wait(browser).until(lambda b: shown_count(b) == parsed["count"])
    press(browser, browser.find_element(By.ID, "to-campaign"))
    wait(browser).until(lambda b: b.find_element(By.ID, "app").get_attribute("data-loaded") == "true")
    audience = Select(browser.find_element(By.ID, "c-segment")).first_selected_option
    assert audience.get_attribute("value") == "inline" and audience.text.startswith("This rule:"), audience.text
    shown = wait(browser).until(lambda b: b.find_element(By.ID, "c-audience").text)
    assert shown.replace(",", "") == f"for {parsed['count']} customers"


def test_campaign_create_launch_and_watch_it_reach_the_vendor(node, browser):
    until(lambda: node.api("GET", f"/api/v1/segments/{node.segment_id}"), what="the segment")
    loaded(browser, f"/campaigns/new?segment={node.segment_id}", node)
    browser.find_element(By.ID, "c-name").send_keys("Diwali")
    template = browser.find_element(By.ID, "c-template")
    template.send_keys("Hi {{first_name|there}}, Diwali offers in ")
    browser.find_element(By.XPATH, "//button[text()='{{city}}']").click()
    previews = wait(browser).until(lambda b: [item.text for item in b.find_elements(
        By.CSS_SELECTOR, "#c-previews .preview-body") if "Diwali offers in Mumbai" in item.text])
    assert previews, "the template is rendered for sample customers"
    browser.find_element(By.ID, "c-create").click()
    launch = wait(browser).until(expected_conditions.element_to_be_clickable((By.ID, "c-launch")))
    launch.click()
    size = node.api("GET", f"/api/v1/segments/{node.segment_id}")["size"]
    question = wait(browser).until(lambda b: b.find_element(By.ID, "c-confirm-text").text)
    assert f"to {size} customers" in question.replace(",", ""), question
    browser.find_element(By.ID, "c-confirm-yes").click()
    wait(browser).until(lambda b: "/campaigns/cmp_" in b.current_url)
    campaign_id = browser.current_url.rsplit("/", 1)[1]
    node.campaign_id = campaign_id

    def decided():
        stats = call(node.vendor, "GET", "/stats")
        return stats["accepted"] + stats["rejected"] >= size and stats
    vendor = until(decided, timeout=120, what="the vendor to decide every message")

    def page_stage(stage):
        # Read in one script: the funnel is re-rendered every second while the campaign runs.
        text = browser.execute_script(
            f"return document.querySelector(\"#funnel tr[data-stage='{stage}'] .stage-count\")?.textContent")
        return int(text.replace(",", "")) if text else -1
    wait(browser, 60).until(lambda b: page_stage("sent") == vendor["accepted"]
                            and page_stage("failed") == vendor["rejected"])
    assert page_stage("audience") == size
    # Receipts: the vendor's delivered receipts, once all are posted, are the page's delivered stage.
    def receipts_settled():
        stats = call(node.vendor, "GET", "/stats")
        delivered = stats.get("receipts_sent_by_status", {}).get("delivered", 0)
        return delivered > 0 and page_stage("delivered") == delivered
    until(receipts_settled, timeout=60, what="the delivered receipts on the page")
    assert browser.execute_script("return !!Chart.getChart('delivery-chart')")
    minutes = node.api("GET", f"/api/v1/campaigns/{campaign_id}/delivery")["minutes"]
    assert sum(minute["sent"] for minute in minutes) == vendor["accepted"], "the delivery model adds up"
    assert sum(minute["failed"] for minute in minutes) == vendor["rejected"]
    failures = wait(browser).until(lambda b: b.execute_script(
        "return [...document.querySelectorAll('#failed .failure-reason')].map(cell => cell.textContent)"))
    assert all(failures), "failed messages with their reasons"
    assert "Diwali" in wait(browser).until(lambda b: b.find_element(By.ID, "summary").text)


def test_retry_failed_from_the_page(node, browser):
    failed_before = node.api("GET", f"/api/v1/campaigns/{node.campaign_id}")["stats"]["failed"]
    assert failed_before > 0
    retry = wait(browser).until(expected_conditions.element_to_be_clickable((By.ID, "retry")))
    before = call(node.vendor, "GET", "/stats")
    retry.click()
    note = wait(browser).until(lambda b: b.find_element(By.ID, "action-status").text)
    assert f"{failed_before:,}".replace(",", "") in note.replace(",", ""), note
    until(lambda: call(node.vendor, "GET", "/stats")["accepted"] + call(node.vendor, "GET", "/stats")["rejected"]
          >= before["accepted"] + before["rejected"] + failed_before, timeout=120, what="the retries to be sent")


def test_customer_page_lists_the_messages_sent(node, browser):
    loaded(browser, "/customers/zz-xss", node)
    rows = wait(browser).until(lambda b: [row for row in b.find_elements(By.CSS_SELECTOR, "#messages tbody tr")
                                          if "Diwali" in row.text])
    assert "Diwali offers in Mumbai" in rows[0].text
    assert "Mumbai VIPs" in browser.find_element(By.ID, "segments").text


def test_campaign_history_and_every_page_at_both_widths(node, browser):
    loaded(browser, "/campaigns", node)
    row = text_of(browser, f"#campaign-list tr[data-campaign='{node.campaign_id}']")
    stats = node.api("GET", f"/api/v1/campaigns/{node.campaign_id}")["stats"]
    assert "Diwali" in row and f"{stats['audience']:,}".replace(",", "") in row.replace(",", "")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = {"overview": "/", "customers": "/customers", "customer": "/customers/zz-xss", "segments": "/segments",
             "segment-new": "/segments/new", "segment-edit": f"/segments/{node.segment_id}",
             "campaigns": "/campaigns", "campaign-new": "/campaigns/new",
             "campaign": f"/campaigns/{node.campaign_id}", "assist": "/assist", "admin": "/admin"}
    browser.get_log("browser")
    for width in (1440, 390):
        browser.set_window_size(width, 1000)
        for name, path in pages.items():
            browser.get(node.base + path)
            if browser.find_elements(By.ID, "app"):
                wait(browser).until(lambda b: b.find_element(By.ID, "app").get_attribute("data-loaded") == "true")
            browser.save_screenshot(str(SCREENSHOTS / f"{name}-{width}.png"))
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path} scrolls sideways at {width} px"
            errors = console_errors(browser)
            assert not errors, f"{path} at {width} px: {errors}"
    browser.set_window_size(1440, 1000)
