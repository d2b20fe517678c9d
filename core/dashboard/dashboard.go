// Package dashboard is the web dashboard at /ui/: one HTML page, its CSS and
// a little JavaScript, embedded in the binary (no build step, no external
// fonts, scripts or CDNs). The page reads only the read API (GET
// /v1/types, /v1/resources, /v1/queue, and /v1/history and /v1/usage where
// the server records lease history) of the server that serves it, and
// refreshes itself every 5 seconds.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// Files are the dashboard's files by the path they are served at.
var Files = map[string]string{
	"/ui":           "static/index.html",
	"/ui/":          "static/index.html",
	"/ui/app.js":    "static/app.js",
	"/ui/style.css": "static/style.css",
}

// ContentSecurityPolicy allows the page its own origin only: its script and
// style files (nothing inline), fetches of the API, the empty data: icon.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the files (GET and HEAD): /ui and /ui/ are the page, any
// other path under /ui/ a 404. Every answer carries
// ContentSecurityPolicy, nosniff and no-referrer; the files are
// revalidated on every load (Cache-Control: no-cache), so an upgraded
// server serves its own page.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "Method "+r.Method+", "+r.URL.Path+" only accepts GET.", http.StatusMethodNotAllowed)
			return
		}
		name, ok := Files[r.URL.Path]
		if !ok {
			http.Error(w, r.URL.Path+": not a file of the dashboard", http.StatusNotFound)
			return
		}
		b, err := fs.ReadFile(static, name)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		h.Set("Content-Type", contentType(name))
		h.Set("Cache-Control", "no-cache")
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(b)
	})
}

func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	}
	return "application/octet-stream"
}
