# autostop — see README.md. `make help` lists the targets.
SHELL := bash
GO ?= go
BUILD := .build
KUMO := $(BUILD)/bin/kumo
KUMO_PATCHES := $(sort $(wildcard shared/localaws/patches/*.patch))

# Lambda binaries: one per directory under functions/, built for Lambda's
# provided.al2023 runtime on arm64.
FUNCTIONS := $(notdir $(wildcard functions/*))
FUNCTION_BINS := $(foreach f,$(FUNCTIONS),$(BUILD)/lambda/$(f)/bootstrap)
# The same binaries for this machine, run by the local backend.
LOCAL_BINS := $(foreach f,$(FUNCTIONS),$(BUILD)/local/$(f)/bootstrap)

ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR := $(BUILD)/npm/node_modules/.bin/asl-validator

.PHONY: help kumo kumo-unpatched tools functions local-functions test vet bench up demo synth clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

kumo: ## build the patched kumo emulator (no-op when up to date)
	@shared/localaws/build-kumo.sh $(abspath $(KUMO)) $(KUMO_PATCHES)

kumo-unpatched: ## build kumo without the project's patches (to see a patch's test fail)
	@shared/localaws/build-kumo.sh $(abspath $(BUILD)/bin/kumo-unpatched)

functions: ## build every function's arm64 bootstrap for AWS Lambda
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/lambda/$$f/bootstrap ./functions/$$f || exit 1; \
	done

local-functions: ## build every function for this machine (the local backend runs these)
	@for f in $(FUNCTIONS); do \
	  CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/local/$$f/bootstrap ./functions/$$f || exit 1; \
	done

tools: $(ASL_VALIDATOR) ## npm tools the tests use (asl-validator), in .build/npm

$(ASL_VALIDATOR):
	npm install --silent --no-audit --no-fund --prefix $(BUILD)/npm asl-validator@$(ASL_VALIDATOR_VERSION)

vet: ## go vet
	$(GO) vet ./...

test: kumo local-functions tools ## run every test (builds kumo first)
	$(GO) vet ./...
	$(GO) test -count=1 ./...

bench: kumo local-functions functions ## print the benchmark figures
	$(GO) test -run '^$$' -bench . ./...

up: kumo local-functions ## local AWS backend with the app deployed; Ctrl-C stops it
	$(GO) run ./cmd/autostop-local up

demo: kumo local-functions ## provision a load balancer end to end on the local backend
	$(GO) run ./cmd/autostop-local demo

clean: ## remove build outputs
	rm -rf $(BUILD)
