package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/boskos-serverless/boskos/core/boskos"
	"github.com/boskos-serverless/boskos/core/mason"
	"github.com/boskos-serverless/boskos/core/mason/lambdaconv"
)

// masonRegistry returns the converters `boskos serve` has: Command and
// Webhook, and Lambda, whose AWS client is made on its first invocation
// from the SDK's default configuration (environment, shared files).
func masonRegistry(log *slog.Logger) (*mason.Registry, error) {
	reg := mason.NewDefaultRegistry(mason.ConverterOptions{Logger: log})
	if err := lambdaconv.Register(reg, &lazyLambda{}); err != nil {
		return nil, err
	}
	return reg, nil
}

// lazyLambda is a Lambda client loaded on first use, so that a server
// without AWS configuration starts (and fails only the Lambda converter's
// constructions, with the SDK's reason).
type lazyLambda struct {
	once   sync.Once
	client *lambda.Client
	err    error
}

func (l *lazyLambda) Invoke(ctx context.Context, in *lambda.InvokeInput, optFns ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	l.once.Do(func() {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			l.err = fmt.Errorf("AWS configuration for the Lambda converter: %w", err)
			return
		}
		l.client = lambda.NewFromConfig(cfg)
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.client.Invoke(ctx, in, optFns...)
}

// reportMasonTypes logs, at start, which dynamic types this server's Mason
// builds, which it leaves to an external Mason (a config.type it has no
// converter for, as upstream does), and a Command converter whose program
// cannot run.
func reportMasonTypes(cfg *boskos.Config, reg *mason.Registry, log *slog.Logger) {
	var built, external []string
	for _, e := range cfg.Resources {
		if !e.IsDRLC() || e.Config.Type == "" {
			continue
		}
		if !reg.Has(e.Config.Type) {
			external = append(external, e.Type+" ("+e.Config.Type+")")
			continue
		}
		built = append(built, e.Type)
		m, err := reg.Converter(e.Config)
		if err != nil {
			log.Warn("mason: the converter of a type refuses its config; its constructions will fail", "type", e.Type, "converter", e.Config.Type, "err", err)
			continue
		}
		if c, ok := m.(interface{ Check() error }); ok {
			if err := c.Check(); err != nil {
				log.Warn("mason: the converter's command cannot run; its constructions will fail", "type", e.Type, "err", err)
			}
		}
	}
	sort.Strings(built)
	sort.Strings(external)
	if len(built) > 0 {
		log.Info("mason: building virtual resources", "types", built)
	}
	if len(external) > 0 {
		log.Info("mason: no converter for these types; left to an external Mason", "types", external)
	}
}
