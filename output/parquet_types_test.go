package output_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/ecsaudit/ecsaudit/output"
)

// TestParquetTypesForAthena reads the Writer's files with a second Parquet
// implementation (arrow-go) and checks the physical and logical type of
// every column against what Athena's tables declare: timestamps as INT64
// TIMESTAMP(MILLIS, UTC), strings as UTF-8 BYTE_ARRAY, signed 32/64-bit
// integers, booleans; never INT96 or unsigned types; zstd or snappy.
func TestParquetTypesForAthena(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	started := time.Date(2026, 11, 28, 3, 4, 5, 0, time.UTC)
	w := output.NewWriter(output.Dir(dir), "types", started)
	yes, root := true, "0"
	if err := w.Findings(t.Context(), []output.Finding{{
		RunID: "types", ScannedAt: started, RegisteredAt: started, Revision: 7,
		Privileged: &yes, User: &root, Result: "FAIL",
	}, {RunID: "types", ScannedAt: started, Result: "PASS"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Coverage(t.Context(), []output.Coverage{{RunID: "types", StartedAt: started, DurationMS: 12}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Usage(t.Context(), []output.Usage{{RunID: "types", ReadAt: started, RunningTasks: 2, PrimaryDeployment: true, FirstStartedAt: started}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(t.Context(), output.Run{RunID: "types", StartedAt: started, EndedAt: started, Status: "complete"}); err != nil {
		t.Fatal(err)
	}

	for _, ds := range []struct {
		name string
		row  any
	}{
		{output.FindingsDataset, output.Finding{}},
		{output.CoverageDataset, output.Coverage{}},
		{output.RunsDataset, output.Run{}},
		{output.UsageDataset, output.Usage{}},
	} {
		t.Run(ds.name, func(t *testing.T) {
			path := filepath.Join(dir, filepath.FromSlash(output.Key(ds.name, started, "types")))
			r, err := file.OpenParquetFile(path, false)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			sc := r.MetaData().Schema
			fields := tagged(reflect.TypeOf(ds.row))
			if sc.NumColumns() != len(fields) {
				t.Fatalf("%d columns in the file, %d tagged fields", sc.NumColumns(), len(fields))
			}
			for i, f := range fields {
				col := sc.Column(i)
				if col.Name() != f.name {
					t.Errorf("column %d is %q, want %q", i, col.Name(), f.name)
					continue
				}
				checkColumn(t, col, f)
			}
			if r.NumRowGroups() == 0 {
				t.Fatal("no row groups")
			}
			for g := range r.NumRowGroups() {
				rg := r.MetaData().RowGroup(g)
				for i := range sc.NumColumns() {
					cc, err := rg.ColumnChunk(i)
					if err != nil {
						t.Fatal(err)
					}
					if c := cc.Compression(); c != compress.Codecs.Zstd && c != compress.Codecs.Snappy {
						t.Errorf("column %s in row group %d compressed with %v, want zstd or snappy", sc.Column(i).Name(), g, c)
					}
				}
			}
		})
	}
}

type field struct {
	name     string
	typ      reflect.Type
	optional bool
}

// tagged lists a row struct's fields in order with their parquet names.
func tagged(rt reflect.Type) []field {
	var fs []field
	for sf := range rt.Fields() {
		tag := sf.Tag.Get("parquet")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fs = append(fs, field{
			name:     name,
			typ:      sf.Type,
			optional: sf.Type.Kind() == reflect.Pointer || strings.Contains(","+opts+",", ",optional,"),
		})
	}
	return fs
}

func checkColumn(t *testing.T, col *schema.Column, f field) {
	t.Helper()
	phys, lt := col.PhysicalType(), col.LogicalType()
	if phys == parquet.Types.Int96 {
		t.Errorf("%s is INT96", f.name)
	}
	if it, ok := lt.(schema.IntLogicalType); ok && !it.IsSigned() {
		t.Errorf("%s is unsigned: %s", f.name, lt)
	}
	wantRep := parquet.Repetitions.Required
	if f.optional {
		wantRep = parquet.Repetitions.Optional
	}
	if rep := col.SchemaNode().RepetitionType(); rep != wantRep {
		t.Errorf("%s repetition %s, want %s", f.name, rep, wantRep)
	}
	typ := f.typ
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	switch {
	case typ == reflect.TypeFor[time.Time]():
		ts, ok := lt.(schema.TimestampLogicalType)
		if phys != parquet.Types.Int64 || !ok || ts.TimeUnit() != schema.TimeUnitMillis || !ts.IsAdjustedToUTC() {
			t.Errorf("%s is %s %s, want INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=true)", f.name, phys, lt)
		}
	case typ.Kind() == reflect.String:
		_, ok := lt.(schema.StringLogicalType)
		if phys != parquet.Types.ByteArray || (!ok && col.ConvertedType() != schema.ConvertedTypes.UTF8) {
			t.Errorf("%s is %s %s, want BYTE_ARRAY STRING", f.name, phys, lt)
		}
	case typ.Kind() == reflect.Int32:
		if phys != parquet.Types.Int32 || !plainOrSignedInt(lt, 32) {
			t.Errorf("%s is %s %s, want signed INT32", f.name, phys, lt)
		}
	case typ.Kind() == reflect.Int64:
		if phys != parquet.Types.Int64 || !plainOrSignedInt(lt, 64) {
			t.Errorf("%s is %s %s, want signed INT64", f.name, phys, lt)
		}
	case typ.Kind() == reflect.Bool:
		if phys != parquet.Types.Boolean {
			t.Errorf("%s is %s, want BOOLEAN", f.name, phys)
		}
	default:
		t.Errorf("%s has Go type %s, which the Athena tables do not map", f.name, f.typ)
	}
}

func plainOrSignedInt(lt schema.LogicalType, bits int8) bool {
	switch lt := lt.(type) {
	case schema.NoLogicalType, nil:
		return true
	case schema.IntLogicalType:
		return lt.IsSigned() && lt.BitWidth() == bits
	}
	return false
}
