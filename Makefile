# Slipway — the two commands a newcomer needs are `make demo` and `make test`.
# Every target installs what it needs: Go modules through `go`, npm tools at the
# versions pinned in package.json through `npm ci`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

FUNCTIONS := $(notdir $(wildcard functions/*))
BOOTSTRAPS := $(FUNCTIONS:%=build/%/bootstrap)
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
NPM_STAMP := node_modules/.installed

.PHONY: all build test lint bench demo synth deploy clean tools $(BOOTSTRAPS)

all: build

## build: every functions/<fn> as build/<fn>/bootstrap (linux/arm64, provided.al2023)
build: $(BOOTSTRAPS)

$(BOOTSTRAPS): build/%/bootstrap:
	@mkdir -p $(dir $@)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

## tools: the pinned npm tools (aws-cdk CLI, asl-validator)
tools: $(NPM_STAMP)

$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## test: lint, then every test (Go unit, template, flow and integration tests)
test: tools lint build
	$(GO) test -count=1 ./...

## lint: gofmt, go vet, and a go.mod/go.sum that `go mod tidy` would not change
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

## bench: benchmarks and size figures
bench: tools build
	@echo "Lambda bootstrap sizes:"; for f in $(BOOTSTRAPS); do printf '  %-28s %s\n' "$$f" "$$(du -h $$f | cut -f1)"; done
	$(GO) test -run '^$$' -bench . -benchmem ./...

## demo: the main job — a real deployment flow, end to end
demo:
	$(GO) run ./cmd/slipway demo

## synth: cdk.out/ from the CDK app (offline; no credentials needed)
synth: tools build
	npx cdk synth --quiet

## deploy: cdk deploy with your own AWS credentials (run `npx cdk bootstrap` once per account/region)
deploy: tools build
	npx cdk deploy

clean:
	rm -rf build cdk.out
