package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/internal/servetest"
	"github.com/threatcov/threatcov/serve"
)

var writeScreenshots = flag.Bool("screenshots", false, "write the screenshots to docs/images/serve-index.png and docs/images/serve-tree.png")

// lockedBuffer collects the server's log for failure messages.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(&b.buf, format+"\n", args...)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServe runs the real server, watching policies, on a free loopback port the kernel
// picks, and stops it when the test ends.
func startServe(t *testing.T, policies string) (base string, log *lockedBuffer) {
	t.Helper()
	log = &lockedBuffer{}
	srv, err := serve.New(serve.Options{Analyze: analysis(policies), Watch: []string{policies},
		PollInterval: 100 * time.Millisecond, Debounce: 200 * time.Millisecond, Logf: log.logf})
	if err != nil {
		t.Fatal(err)
	}
	return servetest.Start(t, srv), log
}

// TestServeInBrowser is the end-to-end scenario: open the index, open a tree, click a
// leaf and read its blocking policy in the panel, search for "hostPID", follow open paths,
// screenshot both pages, then change a policy file and see the page update without a reload.
func TestServeInBrowser(t *testing.T) {
	browser := chromium(t)
	start := time.Now()

	policies := t.TempDir()
	policy := filepath.Join(policies, "host-namespaces.yaml")
	deny, err := os.ReadFile("testdata/policies/host-namespaces.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(policy, deny, 0o644); err != nil {
		t.Fatal(err)
	}
	base, serverLog := startServe(t, policies)
	t.Logf("serving %s after %s", base, time.Since(start).Round(time.Millisecond))

	bctx := newBrowser(t, browser, 120*time.Second)

	// Every console message, so a CSP violation or a script error fails the test.
	var consoleMu sync.Mutex
	var console []chromedp.ConsoleMessage
	messages := chromedp.Console(bctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			consoleMu.Lock()
			console = append(console, m)
			consoleMu.Unlock()
		}
	}()

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", name, err, serverLog)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	textContent := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(expr string) int {
		t.Helper()
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("evaluate %s: %v", expr, err)
		}
		return n
	}
	script := func(js string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](js)); err != nil {
			t.Fatalf("run %s: %v", js, err)
		}
	}
	mustContain := func(what, got string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(got, w) {
				t.Errorf("%s lacks %q; it reads:\n%s", what, w, got)
			}
		}
	}

	// 1. The index: trees and goals with their coverage.
	step("open the index", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("table.trees-table")))
	mustContain("index", textContent("main"), "Attack-path coverage", "Malicious code execution", "Path coverage", "Goal coverage", "DOS K8s Cluster")
	screenshot(t, bctx, "serve-index.png")

	// 2. A tree: its drawing, enhanced for pan and zoom.
	step("open a tree",
		chromedp.Click(chromedp.CSS(`table.trees-table a[href="/tree/malicious-code-execution"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tc_canvas svg g[id="mce-find-pod-with-hostpid"]`)),
		chromedp.WaitReady(chromedp.CSS("html.js")))
	if eval(`document.querySelectorAll('#tc_canvas svg g.node').length`) < 20 {
		t.Errorf("the drawing has too few nodes")
	}
	before := eval(`Math.round(document.querySelector('#tc_canvas svg').viewBox.baseVal.width)`)
	step("zoom in", chromedp.Click(chromedp.CSS(`button[data-zoom="in"]`)))
	if after := eval(`Math.round(document.querySelector('#tc_canvas svg').viewBox.baseVal.width)`); after >= before {
		t.Errorf("zoom in: viewBox width %d -> %d, want smaller", before, after)
	}
	step("fit", chromedp.Click(chromedp.CSS(`button[data-zoom="fit"]`)))

	// 3. Click a leaf in the drawing: the panel shows it with its blocking policy.
	step("click the hostPID leaf",
		chromedp.Click(chromedp.CSS(`#tc_canvas svg g[id="mce-find-pod-with-hostpid"]`)),
		chromedp.WaitVisible(chromedp.CSS("#tc_panel .node")))
	mustContain("node panel", text("#tc_panel"), "Find Pod/Container with HostPID", "blocked", "verified",
		"gatekeeper:K8sPSPHostNamespace/psp-host-namespace", "Probe verdicts", "denied")
	if eval(`document.querySelectorAll('#tc_canvas svg .tc-selected').length`) != 1 {
		t.Errorf("the clicked node is not marked selected in the drawing")
	}

	// 4. Search for "hostPID": matches listed and marked in the drawing.
	step("search hostPID",
		chromedp.Click(chromedp.CSS("#tc_q")),
		chromedp.SendKeys(chromedp.CSS("#tc_q"), "hostPID"),
		chromedp.WaitVisible(chromedp.CSS("#tc_results a.hit")))
	mustContain("search results", text("#tc_results"), "Find Pod/Container with HostPID", "Search every tree")
	if n := eval(`document.querySelectorAll('#tc_canvas svg .tc-match').length`); n < 1 {
		t.Errorf("search marked %d nodes in the drawing", n)
	}
	step("pick the search hit",
		chromedp.Click(chromedp.CSS("#tc_results a.hit")),
		chromedp.WaitNotVisible(chromedp.CSS("#tc_results")))

	// 5. Follow open paths one at a time.
	step("show the first open path",
		chromedp.Click(chromedp.CSS("li.path a.path-link")),
		chromedp.WaitVisible(chromedp.CSS("#tc_pathbar")))
	mustContain("path bar", text("#tc_path_label"), "Path 1 of")
	if n := eval(`document.querySelectorAll('#tc_canvas svg g.node.tc-lit').length`); n < 2 {
		t.Errorf("path 1 lights %d nodes, want the goal and its steps", n)
	}
	// Path 1 runs from the goal to its steps: it lights at least one edge, and never an edge
	// with an end outside the path.
	if n := eval(`document.querySelectorAll('#tc_canvas svg g.edge.tc-lit').length`); n < 1 {
		t.Errorf("path 1 lights %d edges", n)
	}
	if n := eval(`(() => { const lit = new Set(document.querySelector('li.path.current').dataset.nodes.split(' '));
		return [...document.querySelectorAll('#tc_canvas svg g.edge.tc-lit')].filter(g => !g.querySelector('title').textContent.split('->').every(id => lit.has(id.trim()))).length; })()`); n != 0 {
		t.Errorf("path 1 lights %d edges that leave the path", n)
	}
	screenshot(t, bctx, "serve-tree.png") // path 1 framed, the hostPID leaf's panel open
	step("next path", chromedp.Click(chromedp.CSS("#tc_path_next")))
	mustContain("path bar", text("#tc_path_label"), "Path 2 of")
	stepID, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('li.path.current a.step').dataset.node`))
	if err != nil {
		t.Fatal(err)
	}
	step("open a step of the path",
		chromedp.Click(chromedp.CSS("li.path.current a.step")),
		chromedp.WaitVisible(chromedp.CSS("#tc_panel .node")))
	label, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf(`document.getElementById('d_' + %q).dataset.label`, stepID)))
	if err != nil {
		t.Fatal(err)
	}
	mustContain("panel of the path's step", text("#tc_panel"), label)

	// 5b. Every open path of the tree lights exactly its own nodes: the drawing's lit nodes are
	// the path's nodes (data-nodes, the nodes the path achieves from the goal down), none of
	// them closed, and the path bar names the path by labels, never by element ids.
	paths := eval(`document.querySelectorAll('li.path').length`)
	if paths < 8 {
		t.Fatalf("the tree page lists %d open paths, want at least 8", paths)
	}
	for i := 1; i <= paths; i++ {
		step(fmt.Sprintf("show path %d", i), chromedp.Click(chromedp.CSS(fmt.Sprintf("li.path:nth-of-type(%d) a.path-link", i))))
		got, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
			const li = document.querySelector('li.path.current');
			const want = li.dataset.nodes.split(' ').filter(id => document.querySelector('#tc_canvas svg g.node[id="' + id + '"]')).sort();
			const lit = [...document.querySelectorAll('#tc_canvas svg g.node.tc-lit')].map(g => g.id).sort();
			const closed = lit.filter(id => ['blocked', 'attested'].includes(document.getElementById('d_' + id).dataset.status));
			const label = document.getElementById('tc_path_label').textContent;
			const problems = [];
			if (want.length < 2) problems.push('the path has ' + want.length + ' drawn nodes');
			if (want.join(' ') !== lit.join(' ')) problems.push('lit ' + lit.join(' ') + ', want ' + want.join(' '));
			if (closed.length) problems.push('lights closed nodes ' + closed.join(' '));
			if (/#|\bmce-/.test(label)) problems.push('path bar names ids: ' + label);
			return problems.join('; ');
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		if got != "" {
			t.Errorf("path %d: %s", i, got)
		}
	}
	step("leave path mode", chromedp.Click(chromedp.CSS("#tc_path_clear")))

	// 5c. Search by policy id: the in-page search finds the steps the policy blocks.
	step("search a policy id",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('tc_q').value = ''`),
		chromedp.Click(chromedp.CSS("#tc_q")),
		chromedp.SendKeys(chromedp.CSS("#tc_q"), "K8sPSPHostNamespace"),
		chromedp.WaitVisible(chromedp.CSS("#tc_results a.hit")))
	mustContain("search by policy id", text("#tc_results"), "Find Pod/Container with HostPID", "K8sPSPHostNamespace")
	step("close the results", chromedp.KeyEvent("\x1b"))

	// 5d. A node deep link, opened fresh: the node's panel is in the viewport beside the drawing,
	// the node is centred in the drawing, and the panel shows the full policy id, wrapped.
	step("open a deep link",
		chromedp.Navigate(base+"/"),
		chromedp.Navigate(base+"/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"),
		chromedp.WaitVisible(chromedp.CSS("#tc_panel .node")),
		chromedp.Sleep(300*time.Millisecond))
	deep, err := chromedp.Run(bctx, chromedp.Evaluate[string](`(() => {
		const problems = [], vw = innerWidth, vh = innerHeight;
		const p = document.getElementById('tc_panel').getBoundingClientRect();
		if (p.top < 0 || p.left < 0 || p.bottom > vh || p.right > vw || p.height < 100) problems.push('panel outside the viewport: ' + JSON.stringify(p));
		const c = document.getElementById('tc_canvas').getBoundingClientRect();
		if (c.top < 0 || c.top > vh / 2) problems.push('drawing not in view: top ' + c.top);
		const n = document.querySelector('#tc_canvas svg g[id="mce-find-pod-with-hostpid"]').getBoundingClientRect();
		const dx = (n.left + n.right) / 2 - (c.left + c.right) / 2, dy = (n.top + n.bottom) / 2 - (c.top + c.bottom) / 2;
		if (Math.abs(dx) > 5 || Math.abs(dy) > 5) problems.push('node off centre by ' + dx.toFixed(0) + ', ' + dy.toFixed(0));
		const panel = document.getElementById('tc_panel');
		if (!panel.textContent.includes('gatekeeper:K8sPSPHostNamespace/psp-host-namespace')) problems.push('panel lacks the full policy id');
		if (panel.scrollWidth > panel.clientWidth + 1) problems.push('panel scrolls sideways');
		return problems.join('; ');
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if deep != "" {
		t.Errorf("deep link: %s", deep)
	}

	// 5e. No page scrolls sideways, in a wide window or a narrow one (where the panel becomes
	// a sheet at the bottom).
	for _, width := range []int64{1400, 760} {
		step(fmt.Sprintf("a %dpx window", width), chromedp.EmulateViewport(width, 900))
		for _, page := range []string{"/", "/search?q=K8sPSPHostNamespace", "/policies", "/tree/malicious-code-execution#d_mce-find-pod-with-hostpid", "/tree/scenario-attacker-on-network"} {
			step("open "+page, chromedp.Navigate(base+"/"), chromedp.Navigate(base+page), chromedp.WaitVisible(chromedp.CSS("main")))
			if w := eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
				t.Errorf("%s scrolls sideways by %dpx in a %dpx window", page, w, width)
			}
		}
	}
	step("the test's window again", chromedp.EmulateReset())
	// 5f. The policy view filters as the reader types and links each step to its node.
	step("filter the policy view", chromedp.Navigate(base+"/policies"), chromedp.WaitVisible(chromedp.CSS("#tc_pq")),
		chromedp.SendKeys(chromedp.CSS("#tc_pq"), "K8sPSPHostNamespace"))
	if n := eval(`document.querySelectorAll('tr.policy:not([hidden])').length`); n < 1 || n == eval(`document.querySelectorAll('tr.policy').length`) {
		t.Errorf("the policy filter shows %d rows", n)
	}
	if eval(`document.querySelectorAll('tr.policy:not([hidden]) a[href="/tree/malicious-code-execution#d_mce-find-pod-with-hostpid"]').length`) < 1 {
		t.Errorf("the policy view does not link the policy to the hostPID step it blocks")
	}
	step("back to the tree", chromedp.Navigate(base+"/tree/malicious-code-execution"), chromedp.WaitVisible(chromedp.CSS("#tc_canvas svg g.node")))

	// 6. Live update: switch the policy to dryrun; the page re-renders in place (no reload:
	// the marker set on window survives) and the leaf is now monitored.
	script("window.tcMarker = 42")
	if err := os.WriteFile(policy, bytes.Replace(deny, []byte("enforcementAction: deny"), []byte("enforcementAction: dryrun"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](
		`document.getElementById('d_mce-find-pod-with-hostpid').dataset.status === 'monitored'`,
		chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		t.Fatalf("the page did not show the re-analysis: %v\nserver log:\n%s", err, serverLog)
	}
	if eval(`window.tcMarker`) != 42 {
		t.Errorf("the page reloaded instead of updating in place")
	}
	mustContain("live notice", text("#tc_live"), "Re-analysed")

	// 7. Without JavaScript the page still reads: drawing, paths and node sections.
	noJS, cancelNoJS := chromedp.NewContext(bctx)
	defer cancelNoJS()
	if err := chromedp.Do(noJS,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}),
		chromedp.Navigate(base+"/tree/malicious-code-execution"),
		chromedp.WaitVisible(chromedp.CSS("#tc_canvas svg")),
	); err != nil {
		t.Fatalf("no-JS page: %v", err)
	}
	// DevTools can still evaluate; the page's own script must not have run.
	if enhanced, err := chromedp.Run(noJS, chromedp.Evaluate[bool](`document.documentElement.classList.contains('js')`)); err != nil || enhanced {
		t.Errorf("app.js ran with JavaScript disabled (%v)", err)
	}
	nojs, err := chromedp.Run(noJS, chromedp.Text(chromedp.CSS("#tc_nodes")))
	if err != nil {
		t.Fatal(err)
	}
	mustContain("no-JS node list", nojs, "Find Pod/Container with HostPID", "gatekeeper:K8sPSPHostNamespace/psp-host-namespace")

	// 8. Every tree page: the inline drawing, drawn with the fonts style.css declares, keeps
	// every label inside its shape and the goals on the top row.
	cat, err := attacktrees.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range cat.Trees() {
		step("open tree "+tr.ID, chromedp.Navigate(base+"/tree/"+tr.ID), chromedp.WaitVisible(chromedp.CSS("#tc_canvas svg g.node")))
		if w := eval(`document.documentElement.scrollWidth - document.documentElement.clientWidth`); w > 0 {
			t.Errorf("tree page %s scrolls sideways by %dpx", tr.ID, w)
		}
		got := checkDrawing(t, bctx, cat, tr.ID, "#tc_canvas svg")
		for _, p := range got.Problems {
			t.Errorf("tree page %s: %s", tr.ID, p)
		}
		if got.Goals == 0 {
			t.Errorf("tree page %s: no goal found in the drawing", tr.ID)
		}
	}
	// A many-goal tree drawn one goal's sub-tree at a time: the chooser links every goal, and
	// the drawing holds that goal alone on its top row.
	step("draw one goal", chromedp.Navigate(base+"/tree/scenario-attacker-on-network?goal=san-exploit-stored-secrets"),
		chromedp.WaitVisible(chromedp.CSS("#tc_canvas svg g.node")))
	if n := eval(`document.querySelectorAll('nav.focus a').length`); n != 19 {
		t.Errorf("the goal chooser links %d entries, want all goals and the 18 other goals", n)
	}
	if n := eval(`document.querySelectorAll('#tc_canvas svg g.node[id^="san-"]').length`); n < 5 || n > 25 {
		t.Errorf("one goal's sub-tree draws %d nodes", n)
	}

	consoleMu.Lock()
	defer consoleMu.Unlock()
	for _, m := range console {
		if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning {
			t.Errorf("browser console: %s (%s:%d)", m, m.URL, m.Line)
		}
	}
	t.Logf("end to end in %s", time.Since(start).Round(time.Millisecond))
}

// screenshot captures the viewport, checks it is not blank and, with -screenshots, writes it
// to docs/images.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	data, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if sd, busy := pixelSpread(img); sd < 20 || busy < 0.02 {
		t.Errorf("screenshot %s looks blank: luminance std dev %.1f, %.1f%% of pixels off the background", name, sd, busy*100)
	}
	if *writeScreenshots {
		if err := os.WriteFile(filepath.Join("..", "docs", "images", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// pixelSpread is the standard deviation of the luminance and the share of pixels that differ
// clearly from the most common luminance (the background).
func pixelSpread(img image.Image) (stddev, busy float64) {
	b := img.Bounds()
	var hist [256]int
	var sum, sumSq, n float64
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			hist[int(l)]++
			sum += l
			sumSq += l * l
			n++
		}
	}
	if n == 0 {
		return 0, 0
	}
	mean := sum / n
	mode := 0
	for i, c := range hist {
		if c > hist[mode] {
			mode = i
		}
	}
	off := 0
	for i, c := range hist {
		if math.Abs(float64(i-mode)) > 24 {
			off += c
		}
	}
	return math.Sqrt(sumSq/n - mean*mean), float64(off) / n
}
