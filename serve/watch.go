package serve

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"io/fs"
	"path/filepath"
	"time"
)

// watch re-analyses after the watched paths change and then stay quiet for Debounce. It polls
// names, sizes, modes and modification times (no inotify: it works the same on every OS and
// on network file systems), each scan O(files under the watched paths).
func (s *Server) watch(ctx context.Context) {
	prev := fingerprint(s.opts.Watch)
	var changedAt time.Time
	pending := false
	tick := time.NewTicker(s.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cur := fingerprint(s.opts.Watch)
		if cur != prev {
			prev, changedAt, pending = cur, time.Now(), true
			continue
		}
		if pending && time.Since(changedAt) >= s.opts.Debounce {
			pending = false
			s.opts.Logf("threatcov serve: change under %v, re-analysing", s.opts.Watch)
			_ = s.analyze(ctx) // a failure is logged and shown on the pages; keep watching
		}
	}
}

// fingerprint hashes what is observable about the files under paths. A path that cannot be
// read contributes its error text, so it appearing or disappearing is a change too. Hidden
// folders (.git and the like) are skipped: they change without the inputs changing.
func fingerprint(paths []string) uint64 {
	h := fnv.New64a()
	var num [8]byte
	add := func(name string, info fs.FileInfo) {
		h.Write([]byte(name))
		h.Write([]byte{0})
		binary.LittleEndian.PutUint64(num[:], uint64(info.Size()))
		h.Write(num[:])
		binary.LittleEndian.PutUint64(num[:], uint64(info.ModTime().UnixNano()))
		h.Write(num[:])
		binary.LittleEndian.PutUint64(num[:], uint64(info.Mode()))
		h.Write(num[:])
	}
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				h.Write([]byte(name + "\x00" + err.Error() + "\x00"))
				return nil
			}
			if d.IsDir() {
				if name != root && len(d.Name()) > 1 && d.Name()[0] == '.' {
					return filepath.SkipDir
				}
				// A folder's own time changes with any entry, hidden ones included; the
				// entries that matter are hashed themselves.
				h.Write([]byte(name + "/\x00"))
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil // removed between listing and stat: the next scan sees it gone
			}
			add(name, info)
			return nil
		})
	}
	return h.Sum64()
}
