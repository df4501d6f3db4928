package localcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsCLI runs the stock aws CLI against the test endpoint with throwaway
// credentials and an empty HOME, and returns its stdout, stderr and error.
type awsCLI struct {
	t    *testing.T
	bin  string
	env  []string
	home string
}

func newAWSCLI(t *testing.T, endpoint string) *awsCLI {
	t.Helper()
	bin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("no aws CLI on the PATH; the aws CLI session is skipped (make test installs Debian's awscli when apt is usable)")
	}
	home := t.TempDir()
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"AWS_ACCESS_KEY_ID=AKIDLOCALCLI",
		"AWS_SECRET_ACCESS_KEY=local-secret",
		"AWS_REGION=us-east-1",
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_ENDPOINT_URL=" + endpoint,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=",
		"AWS_MAX_ATTEMPTS=1",
	}
	// pyenv shims find their interpreter through these.
	for _, k := range []string{"PYENV_ROOT", "PYENV_VERSION", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return &awsCLI{t: t, bin: bin, env: env, home: home}
}

func (c *awsCLI) run(args ...string) (string, string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, append(args, "--output", "json")...)
	cmd.Env = c.env
	cmd.Dir = c.home
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// ok runs a command that must succeed and decodes its JSON output into v
// (when v is not nil).
func (c *awsCLI) ok(v any, args ...string) string {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("aws %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(out), v); err != nil {
			c.t.Fatalf("aws %s: decode output %q: %v", strings.Join(args, " "), out, err)
		}
	}
	return out
}

// fails runs a command that must fail with an error naming code.
func (c *awsCLI) fails(code string, args ...string) {
	c.t.Helper()
	out, errOut, err := c.run(args...)
	if err == nil {
		c.t.Fatalf("aws %s: got success (%s), want an error %s", strings.Join(args, " "), out, code)
	}
	if !strings.Contains(errOut, code) {
		c.t.Errorf("aws %s: got stderr %q, want it to name %s", strings.Join(args, " "), errOut, code)
	}
}

func TestAWSCLISession(t *testing.T) {
	env := newEnv(t)
	cli := newAWSCLI(t, env.url)
	dir := cli.home
	spec := filepath.Join(dir, "web.yaml")
	if err := os.WriteFile(spec, []byte("service: web\nimage: web:v1\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("s3", func(t *testing.T) {
		cli.t = t
		cli.ok(nil, "s3api", "create-bucket", "--bucket", "cli-specs")
		cli.ok(nil, "s3api", "put-bucket-versioning", "--bucket", "cli-specs", "--versioning-configuration", "Status=Enabled")
		cli.ok(nil, "s3api", "put-bucket-notification-configuration", "--bucket", "cli-specs",
			"--notification-configuration", `{"EventBridgeConfiguration":{}}`)
		if _, errOut, err := cli.run("s3", "cp", spec, "s3://cli-specs/services/web.yaml"); err != nil {
			t.Fatalf("aws s3 cp: %v\n%s", err, errOut)
		}
		cli.fails("PreconditionFailed", "s3api", "put-object", "--bucket", "cli-specs", "--key", "services/web.yaml", "--body", spec, "--if-none-match", "*")
		var put struct{ ETag, VersionId string }
		cli.ok(&put, "s3api", "put-object", "--bucket", "cli-specs", "--key", "services/web.yaml", "--body", spec)
		if put.VersionId == "" || put.ETag == "" {
			t.Errorf("put-object: got %+v, want a version id and ETag", put)
		}
		var versions struct {
			Versions []struct {
				Key, VersionId string
				IsLatest       bool
			}
		}
		cli.ok(&versions, "s3api", "list-object-versions", "--bucket", "cli-specs", "--prefix", "services/")
		if len(versions.Versions) != 2 || !versions.Versions[0].IsLatest || versions.Versions[0].VersionId != put.VersionId {
			t.Errorf("list-object-versions: got %+v, want two versions, the latest %s", versions.Versions, put.VersionId)
		}
		out, errOut, err := cli.run("s3", "cp", "s3://cli-specs/services/web.yaml", "-")
		if err != nil || out != "service: web\nimage: web:v1\n" {
			t.Errorf("aws s3 cp to stdout: got %q, %v (%s)", out, err, errOut)
		}
		ls, errOut, err := cli.run("s3", "ls", "s3://cli-specs/services/")
		if err != nil || !strings.Contains(ls, "web.yaml") {
			t.Errorf("aws s3 ls: got %q, %v (%s)", ls, err, errOut)
		}
		// Above 8 MB the CLI uploads in parts.
		big := filepath.Join(dir, "big.bin")
		bigData := bytes.Repeat([]byte("0123456789abcdef"), 9<<16) // 9 MiB
		if err := os.WriteFile(big, bigData, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, errOut, err := cli.run("s3", "cp", big, "s3://cli-specs/artifacts/big.bin"); err != nil {
			t.Fatalf("aws s3 cp multipart: %v\n%s", err, errOut)
		}
		var head struct {
			ContentLength int64
			ETag          string
		}
		cli.ok(&head, "s3api", "head-object", "--bucket", "cli-specs", "--key", "artifacts/big.bin")
		if head.ContentLength != int64(len(bigData)) || !strings.HasSuffix(head.ETag, `-2"`) {
			t.Errorf("multipart upload by the CLI: got %d bytes ETag %s, want %d bytes in two parts", head.ContentLength, head.ETag, len(bigData))
		}
		cli.fails("NoSuchKey", "s3api", "get-object", "--bucket", "cli-specs", "--key", "nope", filepath.Join(dir, "out"))
		var created int
		for _, e := range env.events.All() {
			if e.DetailType == "Object Created" {
				created++
			}
		}
		if created != 3 {
			t.Errorf("got %d Object Created events, want 3 (the failed conditional put emits none)", created)
		}
	})

	t.Run("ecr", func(t *testing.T) {
		cli.t = t
		var repo struct {
			Repository struct{ RepositoryUri string }
		}
		cli.ok(&repo, "ecr", "create-repository", "--repository-name", "web")
		if repo.Repository.RepositoryUri != "000000000000.dkr.ecr.us-east-1.amazonaws.com/web" {
			t.Errorf("repositoryUri: got %s", repo.Repository.RepositoryUri)
		}
		cli.fails("RepositoryAlreadyExistsException", "ecr", "create-repository", "--repository-name", "web")
		manifest := `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":10,"digest":"sha256:aa"},"layers":[]}`
		manifestFile := filepath.Join(dir, "manifest.json")
		if err := os.WriteFile(manifestFile, []byte(manifest), 0o600); err != nil {
			t.Fatal(err)
		}
		var put struct {
			Image struct {
				ImageId struct{ ImageDigest, ImageTag string }
			}
		}
		cli.ok(&put, "ecr", "put-image", "--repository-name", "web", "--image-tag", "v1", "--image-manifest", "file://"+manifestFile)
		if !strings.HasPrefix(put.Image.ImageId.ImageDigest, "sha256:") || put.Image.ImageId.ImageTag != "v1" {
			t.Errorf("put-image: got %+v", put.Image.ImageId)
		}
		var desc struct {
			ImageDetails []struct {
				ImageDigest string
				ImageTags   []string
			}
		}
		cli.ok(&desc, "ecr", "describe-images", "--repository-name", "web", "--image-ids", "imageTag=v1")
		if len(desc.ImageDetails) != 1 || desc.ImageDetails[0].ImageDigest != put.Image.ImageId.ImageDigest {
			t.Errorf("describe-images: got %+v, want digest %s", desc.ImageDetails, put.Image.ImageId.ImageDigest)
		}
		cli.fails("ImageNotFoundException", "ecr", "describe-images", "--repository-name", "web", "--image-ids", "imageTag=v9")
		cli.fails("RepositoryNotFoundException", "ecr", "describe-repositories", "--repository-names", "nope")
		if out, errOut, err := cli.run("ecr", "get-login-password"); err != nil || strings.TrimSpace(out) != "slipway-local" {
			t.Errorf("get-login-password: got %q, %v (%s), want slipway-local", out, err, errOut)
		}
	})

	t.Run("sts", func(t *testing.T) {
		cli.t = t
		var id struct{ Account, Arn string }
		cli.ok(&id, "sts", "get-caller-identity")
		if id.Account != "000000000000" || id.Arn != "arn:aws:iam::000000000000:root" {
			t.Errorf("get-caller-identity: got %+v", id)
		}
	})

	t.Run("cloudwatch json bridge", func(t *testing.T) {
		cli.t = t
		cli.ok(nil, "cloudwatch", "put-metric-data", "--namespace", "Custom", "--metric-name", "Requests", "--value", "3")
		env.cw.mu.Lock()
		n := len(env.cw.data)
		env.cw.mu.Unlock()
		if n != 1 {
			t.Errorf("metrics stored through the CLI: got %d, want 1", n)
		}
	})
}
