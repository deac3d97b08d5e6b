package serve

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
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
	return out
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("name")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveCached(w, r, a.etag, a.contentType, a.body, func() []byte { return a.gz })
}
