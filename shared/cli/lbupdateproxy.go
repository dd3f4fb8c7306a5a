package cli

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/spf13/cobra"

	"github.com/autostop/autostop/shared/app"
	"github.com/autostop/autostop/shared/inventory"
	"github.com/autostop/autostop/shared/lambdapkg"
	"github.com/autostop/autostop/shared/proxyupdate"
)

// updateProxyFlags are `lb update-proxy`'s flags.
type updateProxyFlags struct {
	zip     string
	build   bool
	name    string
	timeout time.Duration
}

func (c *CLI) lbUpdateProxyCommand() *cobra.Command {
	var f updateProxyFlags
	cmd := &cobra.Command{
		Use:   "update-proxy NAME (--zip FILE | --build)",
		Short: "Update the proxy function's code, tried before it serves",
		Long: `Updates the code of the proxy function behind a load balancer's default rule, so
that a bad build never serves a request: the code (a Lambda deployment package
with a "bootstrap", --zip, or built from functions/proxy of this checkout with
--build) is uploaded to the function's $LATEST, which nothing invokes; then the
autostop-update-proxy-code workflow publishes a version of it, invokes that
version with a sample ALB event (it must answer without an error, below 500),
moves the alias the proxy target groups invoke to it, and invokes the target
group's target (the new version must answer). A failure before the move leaves
everything as it was; a failure after it moves the alias back. The old version
is kept, so going back is moving the alias.

The proxy function and its alias are shared by every autostop load balancer of
the region: the new code serves all of them. --build compiles for the target:
linux/arm64 on AWS, this machine with --local.

` + exitCodesHelp,
		Example: `  # build functions/proxy of this checkout and roll it out
  autostop lb update-proxy web --build

  # a package built elsewhere (zip with an executable "bootstrap")
  autostop lb update-proxy web --zip proxy.zip`,
		Args: oneName("load balancer NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (f.zip == "") == !f.build {
				return usageErrorf("give --zip FILE or --build (one of them)")
			}
			if f.timeout < 0 {
				return usageErrorf("--timeout %v: must not be negative", f.timeout)
			}
			if f.name != "" {
				if err := checkExecutionName(f.name); err != nil {
					return usageErrorf("%v", err)
				}
			}
			return c.lbUpdateProxy(cmd.Context(), args[0], f)
		},
	}
	cmd.Flags().StringVar(&f.zip, "zip", "", "the deployment package (zip with an executable bootstrap)")
	cmd.Flags().BoolVar(&f.build, "build", false, "build functions/proxy of the checkout in this directory (needs Go)")
	cmd.Flags().StringVar(&f.name, "name", "", "execution name (default cli-update-<lb>-<UTC time>-<random>)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 15*time.Minute, "stop watching after this long (0: no limit); the execution goes on")

	return cmd
}

func (c *CLI) lbUpdateProxy(ctx context.Context, lbName string, f updateProxyFlags) error {
	var pkg []byte
	var err error
	if f.zip != "" {
		if pkg, err = os.ReadFile(f.zip); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("read --zip: %w", err)}
		}
		if err := checkPackage(pkg); err != nil {
			return &exitError{code: ExitUsage, err: fmt.Errorf("%s: %w", f.zip, err)}
		}
	}

	r, _, err := c.reader(ctx)
	if err != nil {
		return err
	}
	d, err := r.Describe(ctx, lbName)
	if err != nil {
		if errors.Is(err, inventory.ErrNotFound) {
			return notFound(fmt.Errorf("no autostop load balancer named %q in this account and region ('autostop lb list' lists them)", lbName))
		}
		return failed(err)
	}
	if len(d.ProxyTargets) != 1 {
		return failed(fmt.Errorf("load balancer %s's proxy target group has %d targets, want the proxy function's alias", lbName, len(d.ProxyTargets)))
	}
	function, _, ok := proxyupdate.SplitAliasARN(d.ProxyTargets[0])
	if !ok {
		return failed(fmt.Errorf("the proxy target %s is not a function alias", d.ProxyTargets[0]))
	}

	progressOut := c.progressOut()
	if f.build {
		goos, goarch := "linux", "arm64"
		if c.global.Local {
			goos, goarch = runtime.GOOS, runtime.GOARCH
		}
		fmt.Fprintf(progressOut, "Building functions/proxy for %s/%s\n", goos, goarch)
		if pkg, err = buildProxy(ctx, goos, goarch); err != nil {
			return failed(err)
		}
	}
	sum := sha256.Sum256(pkg)
	codeSha := base64.StdEncoding.EncodeToString(sum[:])

	cfg, _, err := c.awsConfig(ctx)
	if err != nil {
		return err
	}
	lc := lambda.NewFromConfig(cfg)
	fmt.Fprintf(progressOut, "Uploading %.1f MB to %s $LATEST (nothing invokes $LATEST: the load balancers invoke its alias)\n", float64(len(pkg))/1e6, function)
	if _, err := lc.UpdateFunctionCode(ctx, &lambda.UpdateFunctionCodeInput{FunctionName: aws.String(function), ZipFile: pkg}); err != nil {
		return failed(fmt.Errorf("upload the code to %s: %w", function, err))
	}

	name := f.name
	if name == "" {
		if name, err = c.executionName("update-" + lbName); err != nil {
			return failed(err)
		}
	}
	input, _ := json.Marshal(proxyupdate.Request{Name: lbName, CodeSha256: codeSha})

	return c.startAndWatch(ctx, start{
		stateMachine: app.NamePrefix + app.UpdateProxyCode, name: name, input: string(input), timeout: f.timeout,
		title: fmt.Sprintf("Updating the proxy of load balancer %s (%s, code %s)", lbName, function, codeSha),
	}, c.updateProxyResult)
}

// checkPackage checks a deployment package is a zip with a bootstrap.
func checkPackage(pkg []byte) error {
	_, err := lambdapkg.Find(pkg)
	return err
}

// buildProxy builds functions/proxy of the module in the working
// directory, as the Makefile does, and zips it as "bootstrap".
func buildProxy(ctx context.Context, goos, goarch string) ([]byte, error) {
	dir, err := os.MkdirTemp("", "autostop-proxy-build")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "bootstrap")
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-gcflags=all=-l", "-ldflags=-s -w", "-o", bin, "./functions/proxy")
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	if goarch == "arm64" {
		cmd.Env = append(cmd.Env, "GOARM64=v8.2")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build functions/proxy (run it from the repository's root): %w\n%s", err, out)
	}

	return lambdapkg.ZipFile(bin)
}

// updateOutput is the UpdateProxyCode execution's output.
type updateOutput struct {
	Name            string `json:"name"`
	Execution       string `json:"execution"`
	AliasARN        string `json:"aliasArn"`
	PreviousVersion string `json:"previousVersion"`
	Version         string `json:"version"`
}

// updateProxyResult prints where the alias points now.
func (c *CLI) updateProxyResult(final *sfn.DescribeExecutionOutput, lastOutput string, progressOut io.Writer) error {
	if final.Status != types.ExecutionStatusSucceeded {
		return c.failure(final, lastOutput, progressOut, func(f *Failure) { f.Alias = aliasOutcome(lastOutput) })
	}
	raw := aws.ToString(final.Output)
	if c.global.output == outputJSON {
		c.printRawJSON(raw)
		return nil
	}
	var out updateOutput
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return failed(fmt.Errorf("read the execution's output: %w", err))
	}
	fmt.Fprintf(c.Stdout, "\nThe proxy of load balancer %s runs version %s (execution %s).\n", out.Name, out.Version, out.Execution)
	fmt.Fprintf(c.Stdout, "%s%s now points at version %s; version %s is kept (moving the alias back to it undoes this).\n",
		indent, out.AliasARN, out.Version, out.PreviousVersion)

	return nil
}

// aliasOutcome reads where a failed update left the alias from its last
// state's output: nil before LocateProxy found it.
func aliasOutcome(lastOutput string) *AliasOutcome {
	var doc struct {
		Located   *proxyupdate.Located `json:"located"`
		Moved     *proxyupdate.Moved   `json:"moved"`
		MovedBack *proxyupdate.Moved   `json:"movedBack"`
	}
	if json.Unmarshal([]byte(lastOutput), &doc) != nil || doc.Located == nil {
		return nil
	}
	a := &AliasOutcome{AliasARN: doc.Located.AliasARN, Version: doc.Located.PreviousVersion}
	switch {
	case doc.MovedBack != nil:
		// MovedBack.From is where it was found: the new version, or the
		// old one when the move itself had failed.
		a.Moved = doc.MovedBack.From != doc.MovedBack.To
		a.MovedBack = a.Moved
	case doc.Moved != nil:
		a.Moved, a.Version = true, doc.Moved.To
	}

	return a
}
