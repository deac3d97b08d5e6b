package policies

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// DefaultMemoryLimit bounds how much the heap may grow while policies evaluate.
const DefaultMemoryLimit = 2 << 30

// errMemoryLimit is the cancellation cause when the heap outgrows the limit.
var errMemoryLimit = errors.New("memory limit exceeded")

// memGuard stops evaluations when the heap grows past a limit. OPA has no allocation limit,
// so the guard samples the process heap while evaluations run and cancels them all through
// their contexts (OPA checks cancellation as it evaluates). The heap is shared, so a
// cancelled evaluation is re-run alone (exclusive) to tell the culprit from bystanders.
// A single huge allocation between samples is not caught: the limit bounds growth, it does
// not make memory use exact.
type memGuard struct {
	limit     uint64
	interval  time.Duration
	exclusive sync.RWMutex

	mu       sync.Mutex
	inflight map[*context.CancelCauseFunc]struct{}
	baseline uint64
	stop     chan struct{}
}

func newMemGuard(limit uint64) *memGuard {
	return &memGuard{limit: limit, interval: 5 * time.Millisecond, inflight: map[*context.CancelCauseFunc]struct{}{}}
}

var heapSample = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
var heapSampleMu sync.Mutex

func heapBytes() uint64 {
	heapSampleMu.Lock()
	defer heapSampleMu.Unlock()
	metrics.Read(heapSample)
	if heapSample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return heapSample[0].Value.Uint64()
}

// run calls f with a context the guard may cancel, re-running it alone when the memory
// limit cancelled it while other evaluations shared the heap. It reports whether f's last
// run was stopped by the limit.
func (g *memGuard) run(ctx context.Context, f func(context.Context) error) bool {
	if err := g.shared(ctx, f); !errors.Is(err, errMemoryLimit) {
		return false
	}
	g.exclusive.Lock()
	defer g.exclusive.Unlock()
	runtime.GC()
	g.mu.Lock()
	g.baseline = heapBytes()
	g.mu.Unlock()
	err := g.once(ctx, f)
	runtime.GC()
	return errors.Is(err, errMemoryLimit)
}

func (g *memGuard) shared(ctx context.Context, f func(context.Context) error) error {
	g.exclusive.RLock()
	defer g.exclusive.RUnlock()
	return g.once(ctx, f)
}

// once runs f under the monitor; deferred bookkeeping keeps the guard consistent even when
// f panics (Evaluate recovers above).
func (g *memGuard) once(ctx context.Context, f func(context.Context) error) (err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	g.mu.Lock()
	g.inflight[&cancel] = struct{}{}
	if len(g.inflight) == 1 {
		g.baseline = heapBytes()
		g.stop = make(chan struct{})
		go g.monitor(g.stop)
	}
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		delete(g.inflight, &cancel)
		if len(g.inflight) == 0 {
			close(g.stop)
		}
		g.mu.Unlock()
	}()
	_ = f(ctx)
	return context.Cause(ctx)
}

func (g *memGuard) monitor(stop chan struct{}) {
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		h := heapBytes()
		g.mu.Lock()
		if h > g.baseline+g.limit {
			for c := range g.inflight {
				(*c)(errMemoryLimit)
			}
		}
		g.mu.Unlock()
	}
}
