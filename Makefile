# autostop — see README.md. `make help` lists the targets.
SHELL := bash
GO ?= go
BUILD := .build
KUMO := $(BUILD)/bin/kumo
KUMO_PATCHES := $(sort $(wildcard shared/localaws/patches/*.patch))

# Lambda binaries: one per directory under functions/, built for Lambda's
# provided.al2023 runtime on arm64 (Graviton2 and later: Armv8.2), stripped
# and without inlining: each bootstrap stays under 10 MB (the AWS SDK's
# clients are most of it; inlining them added ~1 MB to the largest) at a
# CPU cost the steps, which wait on AWS, do not notice
# (shared/bootstrapsize checks the sizes).
FUNCTIONS := $(notdir $(wildcard functions/*))
FUNCTION_BINS := $(foreach f,$(FUNCTIONS),$(BUILD)/lambda/$(f)/bootstrap)
# The same binaries for this machine, run by the local backend.
LOCAL_BINS := $(foreach f,$(FUNCTIONS),$(BUILD)/local/$(f)/bootstrap)

ASL_VALIDATOR_VERSION := 4.0.0
ASL_VALIDATOR := $(BUILD)/npm/node_modules/.bin/asl-validator
AWS_CDK_VERSION := 2.1148.1
AWS_CDK := $(BUILD)/npm/node_modules/.bin/cdk
# Quiet, offline CDK CLI runs: jsii's end-of-life warning is silenced per
# Node major version (the variable lists majors, "1" silences nothing); no
# version check.
NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
CDK_ENV := JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=$(NODE_MAJOR) CDK_DISABLE_VERSION_CHECK=1

.PHONY: help kumo kumo-unpatched tools functions local-functions test vet bench up demo synth clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

kumo: ## build the patched kumo emulator (no-op when up to date)
	@shared/localaws/build-kumo.sh $(abspath $(KUMO)) $(KUMO_PATCHES)

kumo-unpatched: ## build kumo without the project's patches (to see a patch's test fail)
	@shared/localaws/build-kumo.sh $(abspath $(BUILD)/bin/kumo-unpatched)

functions: ## build every function's arm64 bootstrap for AWS Lambda
	@for f in $(FUNCTIONS); do \
	  GOOS=linux GOARCH=arm64 GOARM64=v8.2 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -gcflags=all=-l -ldflags='-s -w' -o $(BUILD)/lambda/$$f/bootstrap ./functions/$$f || exit 1; \
	done

local-functions: ## build every function for this machine (the local backend runs these)
	@for f in $(FUNCTIONS); do \
	  CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $(BUILD)/local/$$f/bootstrap ./functions/$$f || exit 1; \
	done

tools: $(ASL_VALIDATOR) $(AWS_CDK) ## npm tools (asl-validator, the aws-cdk CLI), in .build/npm

$(ASL_VALIDATOR):
	npm install --silent --no-audit --no-fund --prefix $(BUILD)/npm asl-validator@$(ASL_VALIDATOR_VERSION)

$(AWS_CDK):
	npm install --silent --no-audit --no-fund --prefix $(BUILD)/npm aws-cdk@$(AWS_CDK_VERSION)

vet: ## go vet
	$(GO) vet ./...

test: kumo local-functions functions tools ## run every test (builds kumo first)
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m -parallel 4 ./...

bench: kumo local-functions functions ## print the benchmark figures
	$(GO) test -run '^$$' -bench . ./...

up: kumo local-functions ## local AWS backend with the app deployed; Ctrl-C stops it
	$(GO) run ./cmd/autostop-local up

demo: kumo local-functions ## provision a load balancer end to end on the local backend
	$(GO) run ./cmd/autostop-local demo

synth: functions $(AWS_CDK) ## cdk synth of the Autostop stack into .build/cdk.out (offline; fails on any cdk-nag finding)
	$(CDK_ENV) npx --prefix $(BUILD)/npm cdk synth --app 'go run ./infra' -q --no-notices

clean: ## remove build outputs
	rm -rf $(BUILD)
