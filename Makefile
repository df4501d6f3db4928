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

.PHONY: all build test lint bench soak fuzz demo synth deploy clean tools $(BOOTSTRAPS)

all: build

## build: every functions/<fn> as build/<fn>/bootstrap (linux/arm64, provided.al2023)
build: $(BOOTSTRAPS)

$(BOOTSTRAPS): build/%/bootstrap:
	@mkdir -p $(dir $@)
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

## tools: the pinned npm tools (aws-cdk CLI, asl-validator)
tools: $(NPM_STAMP)

# node_modules holds Go template files of the CDK CLI; a go.mod there makes it
# a module of its own, so `go test ./...` and `go vet ./...` skip it.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@printf 'module ignored/node_modules\n' > node_modules/go.mod
	@touch $@

## test: lint, every Go test (unit, template, flow, integration), then the
## synthesized template through cfn-lint and the definition through asl-validator
# The endpoint package runs the fault matrix, the storm and the soak: several
# minutes on two cores, more than go test's default 10-minute limit allows
# under load.
test: tools lint build aws-cli browser
	$(GO) test -count=1 -timeout 30m ./...
	$(MAKE) --no-print-directory template-check

## aws-cli: the integration tests also drive the local endpoint with the stock
## aws CLI. Install Debian's awscli when none is on the PATH and apt is usable;
## otherwise say plainly that those sessions will be skipped.
.PHONY: aws-cli
aws-cli:
	@if command -v aws >/dev/null 2>&1; then echo "aws CLI: $$(aws --version 2>&1 | cut -d' ' -f1)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "aws CLI: not on the PATH, installing Debian's awscli"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >/dev/null) \
	    || echo "aws CLI: apt-get install awscli failed; the aws CLI sessions of the integration tests will be skipped"; \
	else echo "aws CLI: not on the PATH and apt-get is not usable (not root); the aws CLI sessions of the integration tests will be skipped"; fi

## browser: the report test renders the HTML report in headless chromium.
## Install Debian's chromium when none is on the PATH and apt is usable;
## otherwise say plainly that the test will be skipped.
.PHONY: browser
browser:
	@if command -v chromium >/dev/null 2>&1; then echo "browser: $$(chromium --version 2>/dev/null | head -1)"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "browser: no chromium on the PATH, installing Debian's chromium"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "browser: apt-get install chromium failed; the HTML report will not be rendered in a browser (test skipped)"; \
	else echo "browser: no chromium and apt-get is not usable (not root); the HTML report will not be rendered in a browser (test skipped)"; fi

## lint: gofmt, go vet, and a go.mod/go.sum that `go mod tidy` would not change
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

## bench: every benchmark once (-run '^$': no tests), then each figure next to
## its target and what a user would pick instead, written to docs/bench/results.json
# Lambda zips are what CDK uploads; the target is at most 5 MB each.
BENCH_OUT := build/bench.txt
bench: tools build
	@echo "Lambda packages (target: zip <= 5 MB):"; for f in $(BOOTSTRAPS); do \
	  z=$${f%/bootstrap}.zip; rm -f $$z; \
	  if command -v zip >/dev/null 2>&1; then zip -q -j -X -9 $$z $$f; else python3 -m zipfile -c $$z $$f; fi; \
	  zb=$$(stat -c %s $$z); verdict=ok; [ $$zb -le 5242880 ] || verdict=OVER; \
	  awk -v n="$$(basename $$(dirname $$f))" -v b=$$(stat -c %s $$f) -v z=$$zb -v v=$$verdict \
	    'BEGIN { printf "  %-12s bootstrap %5.1f MB   zip %4.1f MB  %s\n", n, b/1048576, z/1048576, v }'; \
	done
	@mkdir -p bench
	$(GO) test -run '^$$' -bench . -benchmem ./... | tee $(BENCH_OUT)
	$(GO) run ./internal/benchfig/cmd/benchfig -in $(BENCH_OUT) -zips build -out docs/bench/results.json

## soak: the event storm at SOAK_EVENTS deliveries (10,000) and the soak at
## SOAK_DEPLOYMENTS deployments (500) with random faults; SLIPWAY_SOAK_SEED=n
## repeats a soak's faults
SOAK_EVENTS ?= 10000
SOAK_DEPLOYMENTS ?= 500
soak:
	SLIPWAY_STORM=$(SOAK_EVENTS) SLIPWAY_SOAK=$(SOAK_DEPLOYMENTS) $(GO) test -count=1 -timeout 3h -v \
	  -run '^(TestEventStorm|TestSoak)$$' ./internal/localcloud/endpoint/ | grep -v '^!!'

## fuzz: every Go fuzz target for FUZZTIME (30s) each, one at a time (go test
## -fuzz takes one target per run); `make test` runs their seed corpora only
FUZZTIME ?= 30s
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' cmd internal functions events 2>/dev/null | xargs -n1 dirname | sort -u); do \
	  for fn in $$(grep -h -o '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go | cut -d' ' -f2 | sort -u); do \
	    echo "== $$dir $$fn ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$dir || exit 1; \
	  done; \
	done

## demo: the main job: the five scenarios of issue 7 against an in-process
## local endpoint (slipway demo), exiting non-zero if any fails.
demo:
	$(GO) run ./cmd/slipway demo

## synth: cdk.out/ from the CDK app (offline; no credentials needed)
# The stack is environment-agnostic, so synth needs no account or region; the
# variables below keep the CLI from probing EC2 instance metadata for
# credentials, fetching notices or sending telemetry.
CDK_OFFLINE := AWS_EC2_METADATA_DISABLED=true CDK_DISABLE_CLI_TELEMETRY=true
synth: tools build
	$(CDK_OFFLINE) npx cdk synth --quiet --no-notices --no-version-reporting

## faults: rewrite docs/faults.md from the fault matrix (TestFaultMatrix fails
# in `make test` while the committed table differs from what it observes)
.PHONY: faults
faults:
	SLIPWAY_WRITE_FAULTS=1 $(GO) test -count=1 -timeout 30m -run '^TestFaultMatrix$$' ./internal/localcloud/endpoint/

## local-template: rewrite the template `slipway local` embeds
# (internal/localcloud/stack/template/) from the CDK app; TestEmbeddedTemplateFresh
# fails until it is refreshed after a change to the stack.
.PHONY: local-template
local-template:
	$(GO) test -count=1 -run '^TestEmbeddedTemplateFresh$$' ./internal/localcloud/stack/ -update-template

## deploy: cdk deploy with your own AWS credentials (run `npx cdk bootstrap` once per account/region)
deploy: tools build
	npx cdk deploy

## template-check: cfn-lint (when installed) on the synthesized templates, asl-validator on the golden ASL
# Only cfn-lint errors fail; W3005 is ignored because CDK itself writes the
# DependsOn on a function's role policy that it flags.
.PHONY: template-check
template-check: synth
	@if command -v cfn-lint >/dev/null 2>&1; then \
	  echo "cfn-lint $$(cfn-lint --version | cut -d' ' -f2) cdk.out/*.template.json"; \
	  cfn-lint --non-zero-exit-code error --ignore-checks W3005 -- cdk.out/*.template.json; \
	else echo "template-check: cfn-lint is not on the PATH, CloudFormation lint skipped (pip install cfn-lint)"; fi
	npx asl-validator --json-path infra/testdata/deploy.asl.json

clean:
	rm -rf build cdk.out
