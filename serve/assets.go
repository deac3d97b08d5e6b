package serve

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"

	"github.com/threatcov/threatcov/reports"
)

//go:embed assets/*.css assets/*.js
var assetFS embed.FS

// asset is one embedded file with its validator, computed once at start.
type asset struct {
	body        []byte
	gz          []byte
	etag        string
	contentType string
}

// assets are looked up by exact name: no file system path is ever built from a request.
var assets = loadAssets()

func loadAssets() map[string]asset {
	types := map[string]string{
		".css": "text/css; charset=utf-8",
		".js":  "text/javascript; charset=utf-8",
	}
	out := map[string]asset{}
	entries, err := fs.ReadDir(assetFS, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the folder; failing here is a build mistake
	}
	for _, e := range entries {
		body, err := assetFS.ReadFile("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(body)
		out[e.Name()] = asset{body: body, gz: gzipBytes(body), etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: types[path.Ext(e.Name())]}
	}
	// The fonts the drawings are measured with: style.css declares them (the drawings are
	// inlined without their own font style, which the CSP would refuse). WOFF2 is compressed
	// already, so no gzip.
	for _, f := range reports.Fonts() {
		sum := sha256.Sum256(f.Data)
		out[f.Name] = asset{body: f.Data, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, contentType: "font/woff2"}
	}
	return out
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	var gz func() []byte
	if a.gz != nil {
		gz = func() []byte { return a.gz }
	}
	serveCached(w, r, a.etag, a.contentType, a.body, gz)
}
