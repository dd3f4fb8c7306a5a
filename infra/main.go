// Command infra is the CDK app that deploys autostop to AWS: one stack,
// Autostop, built from the same description (shared/app) the local runner
// deploys. `cdk synth` (make synth) and `cdk deploy` run it via cdk.json.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/autostop/autostop/shared/app"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "infra:", err)
		jsii.Close()
		os.Exit(1)
	}
}

func run() error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	a := awscdk.NewApp(nil)
	if _, err := NewStack(a, StackName, Config{RepoRoot: root, App: app.Description()}, &awscdk.StackProps{
		Env: &awscdk.Environment{
			Account: envOrNil("CDK_DEFAULT_ACCOUNT"),
			Region:  envOrNil("CDK_DEFAULT_REGION"),
		},
	}); err != nil {
		return err
	}
	AddNagChecks(a)
	asm := a.Synth(nil)

	// cdk-nag reports through annotations, which do not fail a synth:
	// every AwsSolutions finding that is not suppressed fails it here.
	var findings []string
	for _, st := range *asm.Stacks() {
		for _, m := range *st.Messages() {
			if s := fmt.Sprint(m.Entry.Data); strings.HasPrefix(s, "AwsSolutions-") {
				findings = append(findings, fmt.Sprintf("%s %s: %s", m.Level, *m.Id, s))
			}
		}
	}
	if len(findings) > 0 {
		return fmt.Errorf("%d cdk-nag finding(s):\n%s", len(findings), strings.Join(findings, "\n"))
	}

	return nil
}

// AddNagChecks applies the cdk-nag AwsSolutions rules to every stack.
func AddNagChecks(a awscdk.App) {
	awscdk.Aspects_Of(a).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

func envOrNil(k string) *string {
	if v := os.Getenv(k); v != "" {
		return jsii.String(v)
	}

	return nil
}

// RepoRoot is the directory holding go.mod, from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
