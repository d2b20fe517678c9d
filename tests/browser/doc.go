// Package browser tests the dashboard (/ui/) in a real browser: it builds
// the boskos binary, starts `boskos serve` on a free port, fills it through
// the API, and drives Debian's Chromium with chromedp. The page must load
// without console errors or exceptions, show the numbers the read API
// answers, filter, refresh itself, pass basic accessibility checks, fit a
// phone's width, and ask for credentials when the server has them. Its
// screenshots are written under the test's output and checked to be
// non-blank.
//
// It is its own module so that chromedp stays out of the main module's
// graph. `make test` installs Chromium when it is missing
// (scripts/chromium.sh) and runs it with BOSKOS_CHROMIUM set; without a
// browser the tests skip, saying why. BOSKOS_SCREENSHOT_DIR, when set,
// receives copies of the screenshots (the README's is made that way).
package browser
