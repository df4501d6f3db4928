package endpoint_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	s3api "github.com/slipwayhq/slipway/internal/awsapi/s3"
	"github.com/slipwayhq/slipway/internal/clock"
	"github.com/slipwayhq/slipway/internal/localcloud/endpoint"
	"github.com/slipwayhq/slipway/internal/localcloud/stack"
	"github.com/slipwayhq/slipway/internal/spec"
	"github.com/slipwayhq/slipway/internal/store"
)

// TestSpecUploadOrderThenPush uploads the example specs to the spec bucket
// through a real S3 client one file at a time, as `aws s3 cp --recursive`
// may (services before environments, and environments before services),
// each handled before the next is sent; then it pushes an image to every
// example repository and checks that each push starts the deployment of
// its service to the first environment of its pipeline (and the same with
// every file uploaded at once, as the CLI does by default): the index of
// repositories → services does not depend on the upload order.
func TestSpecUploadOrderThenPush(t *testing.T) {
	skipIfShort(t, "starts the local endpoint twice")
	root := os.DirFS(examples)
	set, err := spec.Load(root)
	if err != nil {
		t.Fatal(err)
	}
	services, _ := fs.Glob(root, "services/*.yaml")
	environments, _ := fs.Glob(root, "environments/*.yaml")
	all := append(slices.Clone(services), environments...)
	orders := map[string][]string{
		"services first":     all,
		"environments first": append(slices.Clone(environments), services...),
		// The CLI's default: up to 10 uploads in flight at once.
		"all at once": nil,
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			r, err := endpoint.Start(context.Background(), endpoint.Options{Addr: "127.0.0.1:0", Config: endpoint.Config{Clock: clock.Scaled(60)}})
			if err != nil {
				t.Fatalf("start the endpoint: %v", err)
			}
			t.Cleanup(func() { _ = r.Shutdown(context.Background()) })
			ctx := context.Background()
			s3c := s3.NewFromConfig(r.AWS, func(o *s3.Options) { o.UsePathStyle = true })
			st := store.New(s3api.New(s3c), r.Deployed.SpecBucket, r.Deployed.StateBucket)
			upload := func(key string) (version string, err error) {
				body, err := fs.ReadFile(root, key)
				if err != nil {
					return "", err
				}
				out, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(r.Deployed.SpecBucket), Key: aws.String(key), Body: strings.NewReader(string(body))})
				if err != nil {
					return "", fmt.Errorf("upload %s: %w", key, err)
				}
				return aws.ToString(out.VersionId), nil
			}
			if order == nil {
				versions := make([]string, len(all))
				errs := make([]error, len(all))
				var wg sync.WaitGroup
				for i, key := range all {
					wg.Go(func() { versions[i], errs[i] = upload(key) })
				}
				wg.Wait()
				if err := errors.Join(errs...); err != nil {
					t.Fatal(err)
				}
				for i, key := range all {
					waitAccepted(t, st, key, versions[i])
				}
			}
			for _, key := range order {
				v, err := upload(key)
				if err != nil {
					t.Fatal(err)
				}
				waitAccepted(t, st, key, v)
			}

			var repos []string
			first := map[string]string{} // repository → "<service>-<first environment>-"
			for _, svc := range sortedServiceNames(set) {
				s := set.Services[svc]
				repos = append(repos, s.Image.Repository)
				first[s.Image.Repository] = svc + "-" + s.Pipeline[0] + "-"
			}
			if err := stack.CreateRepositories(ctx, r.AWS, repos); err != nil {
				t.Fatal(err)
			}
			sfnc := sfn.NewFromConfig(r.AWS)
			for _, repo := range repos {
				if _, err := stack.PushImage(ctx, r.AWS, repo, endpoint.InitialTag); err != nil {
					t.Fatal(err)
				}
				waitExecution(t, sfnc, r.Deployed.StateMachineARN, first[repo])
			}
		})
	}
}

// waitAccepted waits until the spec-upload function accepted version of
// key, failing the test when it rejects it.
func waitAccepted(t *testing.T, st *store.Store, key, version string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		a, err := st.AcceptedSpec(context.Background(), key)
		if err == nil && a.Version == version {
			return
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("read the acceptance of %s: %v", key, err)
		}
		if rej, err := st.Rejection(context.Background(), key, version); err == nil {
			t.Fatalf("%s rejected: %v", key, rej.Problems)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s version %s not accepted within 30 s", key, version)
}

// waitExecution waits until an execution whose name starts with prefix
// exists.
func waitExecution(t *testing.T, c *sfn.Client, machine, prefix string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var names []string
	for time.Now().Before(deadline) {
		execs, err := endpoint.ListExecutions(context.Background(), c, machine)
		if err != nil {
			t.Fatal(err)
		}
		names = names[:0]
		for _, x := range execs {
			names = append(names, aws.ToString(x.Name))
		}
		if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, prefix) }) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no execution %s… within 30 s of the push; executions: %v", prefix, names)
}

func sortedServiceNames(set *spec.Set) []string {
	var out []string
	for n := range set.Services {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
