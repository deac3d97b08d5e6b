package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/threatcov/threatcov/attacktrees"
	"github.com/threatcov/threatcov/reports"
)

// drawingCheck is a JavaScript function over a drawing's <svg> element and the ids of its goals
// and notes. Once the fonts have loaded it returns what is wrong with the drawing as the reader
// sees it:
//   - a text of a node whose bounding box is not inside the node's shape (each corner tested
//     with isPointInFill on the innermost outline), which is what a label drawn in another
//     font than the one graphviz measured looks like;
//   - goals that are not on one row (their centres differ), or a node other than a goal or a
//     note that is not below that row;
//   - fewer than the drawing's fonts loaded.
//
// It returns {problems, texts, goals}: the problems, and how many texts and goals it checked.
const drawingCheck = `async (svg, goalIDs, noteIDs) => {
  await document.fonts.ready;
  const problems = [];
  const loaded = [...document.fonts].filter(f => f.status === 'loaded' && f.family.replace(/"/g, '') === 'Helvetica').length;
  if (loaded < 3) { problems.push('only ' + loaded + ' drawing fonts loaded'); }
  const goals = new Set(goalIDs), notes = new Set(noteIDs), boxes = {};
  let texts = 0;
  for (const g of svg.querySelectorAll('g.node')) {
    if (g.id.startsWith('legend:')) { continue; }
    const shapes = g.querySelectorAll(':scope > .shape');
    if (!shapes.length) { problems.push(g.id + ': no element of class shape'); continue; }
    const shape = shapes[shapes.length - 1];
    boxes[g.id] = shape.getBBox();
    for (const t of g.querySelectorAll('text')) {
      texts++;
      const b = t.getBBox();
      for (const [x, y] of [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]]) {
        const p = svg.createSVGPoint(); p.x = x; p.y = y;
        if (!shape.isPointInFill(p)) {
          problems.push(g.id + ': text "' + t.textContent + '" runs out of its shape at (' + x.toFixed(1) + ', ' + y.toFixed(1) + ')');
          break;
        }
      }
    }
  }
  const gb = [...goals].map(id => boxes[id]).filter(Boolean);
  if (gb.length !== goals.size) { problems.push('found ' + gb.length + ' of ' + goals.size + ' goals'); }
  if (gb.length) {
    const centre = b => b.y + b.height / 2;
    const c0 = centre(gb[0]), bottom = Math.max(...gb.map(b => b.y + b.height));
    gb.forEach((b, i) => { if (Math.abs(centre(b) - c0) > 1) { problems.push('goal ' + [...goals][i] + ' is not on the goals\' row'); } });
    for (const [id, b] of Object.entries(boxes)) {
      if (!goals.has(id) && !notes.has(id) && b.y < bottom) { problems.push(id + ' is not below the goals\' row'); }
    }
  }
  return { problems, texts, goals: gb.length };
}`

// drawingResult is what drawingCheck returns.
type drawingResult struct {
	Problems []string `json:"problems"`
	Texts    int      `json:"texts"`
	Goals    int      `json:"goals"`
}

// goalsAndNotes are the ids drawingCheck takes for one tree, as JSON arrays.
func goalsAndNotes(t *testing.T, c *attacktrees.Catalog, tree string) (goals, notes string) {
	t.Helper()
	tr, _ := c.Tree(tree)
	var g, n []string
	for _, node := range c.Goals(tree) {
		g = append(g, node.ID)
	}
	for _, node := range tr.Nodes {
		if node.Kind == attacktrees.KindNote {
			n = append(n, node.ID)
		}
	}
	gj, _ := json.Marshal(g)
	nj, _ := json.Marshal(append([]string{}, n...))
	return string(gj), string(nj)
}

// checkDrawing runs drawingCheck on the <svg> element sel of the page open in ctx.
func checkDrawing(t *testing.T, ctx context.Context, c *attacktrees.Catalog, tree, sel string) drawingResult {
	t.Helper()
	goals, notes := goalsAndNotes(t, c, tree)
	js := "(" + drawingCheck + ")(document.querySelector(" + jsString(sel) + "), " + goals + ", " + notes + ")"
	res, err := chromedp.Run(ctx, chromedp.Evaluate[drawingResult](js, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("check the drawing of %s: %v", tree, err)
	}
	return res
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestTreeSVGInBrowser opens the SVG of every catalog tree, as `threatcov render` writes it
// (analysed against examples/platform, so nodes carry badges and policy ids), as a document of
// its own in Chromium, and checks that every label lies inside its shape and that the goals
// share the top row. The drawing embeds its fonts, so this holds whatever fonts the machine has.
func TestTreeSVGInBrowser(t *testing.T) {
	browser := chromium(t)
	res, c, err := analysis("../examples/platform")(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	svgs := map[string][]byte{}
	for _, tr := range c.Trees() {
		svg, err := reports.TreeSVG(context.Background(), c, res, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		svgs[tr.ID] = svg
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svg, ok := svgs[strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".svg")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		_, _ = w.Write(svg)
	}))
	defer srv.Close()

	ctx := newBrowser(t, browser, 90*time.Second)
	for _, tr := range c.Trees() {
		t.Run(tr.ID, func(t *testing.T) {
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/"+tr.ID+".svg")); err != nil {
				t.Fatal(err)
			}
			got := checkDrawing(t, ctx, c, tr.ID, "svg")
			t.Logf("%d texts, %d goals checked", got.Texts, got.Goals)
			for _, p := range got.Problems {
				t.Error(p)
			}
			if got.Texts < len(tr.Nodes) || got.Goals == 0 {
				t.Errorf("checked %d texts and %d goals: the drawing was not found", got.Texts, got.Goals)
			}
		})
	}
}
