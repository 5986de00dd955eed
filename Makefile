# Development commands. `make help` lists them.
GO        ?= go
BIN       ?= bin/threat-intel
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS   := -s -w -X github.com/threat-intel/threat-intel/internal/version.Version=$(VERSION) \
	-X github.com/threat-intel/threat-intel/internal/version.commit=$(COMMIT)
FUZZTIME  ?= 60s
BENCHTIME ?= 1s

.PHONY: help build test test-short vet fmt-check lint bench fuzz clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-11s %s\n", $$1, $$2}'

build: ## Build a static binary into bin/.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/threat-intel

test: ## Start the services the tests need, then run every test with the race detector.
	scripts/test-services.sh
	$(GO) test -race -count=1 -timeout 12m ./...

test-short: ## Run the tests that need no services and no corpus, without the race detector.
	$(GO) test -short ./...

vet: ## go vet and a gofmt check.
	$(GO) vet ./...
	@out=$$(gofmt -l . | grep -v '^vendor/' || true); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fmt-check: vet

lint: vet ## Alias of vet.

bench: ## Run every benchmark once per CPU setting (BENCHTIME=5s for steadier figures).
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) ./...

fuzz: ## Run each fuzz target for FUZZTIME (default 60s).
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean: ## Remove build output.
	rm -rf bin
