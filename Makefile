# threatcov: build, test, lint, benchmark.
GO      ?= go
BIN     ?= bin/threatcov
EXAMPLE ?= examples/platform

.PHONY: all build demo test test-deps unit lint bench bench-go fuzz clean

all: lint test

build:
	$(GO) build -o $(BIN) ./cmd/threatcov

## demo: the main job — analyse the embedded CNCF catalog against the example policy set.
demo:
	$(GO) run ./cmd/threatcov analyze --policies $(EXAMPLE)

## test: install what the tests need (SCRAM, etcd, kube-apiserver, the kyverno CLI, Chromium), then run them all.
test: test-deps
	CI=$${CI:-} $(GO) test -count=1 ./...

test-deps:
	bash scripts/test-deps.sh

## unit: the tests that need nothing installed (integration tests skip with a message).
unit:
	$(GO) test ./...

## lint: go vet, gofmt and staticcheck; staticcheck is fetched at this pinned version through the
## Go module proxy on first use, so a fresh machine needs nothing installed by hand.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	$(GO) vet ./...
	@out="$$(gofmt -l $$(git ls-files '*.go'))"; if [ -n "$$out" ]; then echo "gofmt -l:"; echo "$$out"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

## bench: Go benchmarks, threatcov side by side with conftest, gator, scram and dot, then the scale series.
bench: bench-go
	bash bench/run.sh

## bench-go: the Go benchmarks alone; BENCHCOUNT=10 gives benchstat enough samples
## (make bench-go BENCHCOUNT=10 > old.txt; change; ... > new.txt; benchstat old.txt new.txt).
BENCHCOUNT ?= 1
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count $(BENCHCOUNT) ./analyzer/... ./policies/... ./reports/... ./mapping/...

## fuzz: run every fuzz target for a bounded time (FUZZTIME, default 20s each).
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
