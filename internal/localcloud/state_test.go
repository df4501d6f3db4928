package localcloud

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecr "github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/slipwayhq/slipway/internal/localcloud/ecr"
	"github.com/slipwayhq/slipway/internal/localcloud/s3"
)

func TestSaveLoadState(t *testing.T) {
	ctx := context.Background()
	env := newEnv(t)
	dir := t.TempDir()
	ecrSvc := ecr.New(ecr.Options{})
	if _, err := ecrSvc.ServeJSON(ctx, "CreateRepository", []byte(`{"repositoryName":"web"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := ecrSvc.ServeJSON(ctx, "PutImage", []byte(`{"repositoryName":"web","imageManifest":"{}","imageTag":"v1"}`)); err != nil {
		t.Fatal(err)
	}
	s3Svc := s3.New(s3.Options{})
	if err := SaveState(dir, map[string]Snapshotter{"ecr": ecrSvc, "s3": s3Svc}); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "ecr.json,s3.json" {
		t.Errorf("state files: got %v, want ecr.json and s3.json only", names)
	}

	// A fresh process restores and serves the image through the router.
	restored := ecr.New(ecr.Options{})
	if err := LoadState(dir, map[string]Snapshotter{"ecr": restored, "s3": s3.New(s3.Options{}), "sts-later": s3.New(s3.Options{})}); err != nil {
		t.Fatal(err)
	}
	env.server.RegisterJSON("ecr", ecr.TargetPrefix, "1.1", restored)
	out, err := env.ecrClient().DescribeImages(ctx, &awsecr.DescribeImagesInput{RepositoryName: aws.String("web"), ImageIds: []types.ImageIdentifier{{ImageTag: aws.String("v1")}}})
	if err != nil || len(out.ImageDetails) != 1 {
		t.Errorf("restored image: got %+v, %v; want one image", out, err)
	}

	if err := os.WriteFile(filepath.Join(dir, "ecr.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = LoadState(dir, map[string]Snapshotter{"ecr": ecr.New(ecr.Options{})})
	if err == nil || !strings.Contains(err.Error(), "ecr.json") {
		t.Errorf("corrupt state: got %v, want an error naming ecr.json", err)
	}
	if err := SaveState(dir, map[string]Snapshotter{"../evil": ecrSvc}); err == nil {
		t.Errorf("bad part name: got nil error, want one")
	}
}
