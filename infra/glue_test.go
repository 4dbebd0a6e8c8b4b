package infra

import (
	"fmt"
	"path"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7/cloudformation/glue"

	"github.com/ecsaudit/ecsaudit/output"
)

// column is a table column as Athena sees it.
type column struct{ Name, Type string }

// athenaColumns derives the Athena columns of a Parquet row struct from its
// parquet tags, the way output writes them: string and *string are string,
// bool and *bool boolean, int32 int, int64 bigint, and time.Time tagged
// timestamp(millisecond) timestamp. Any other Go type fails the test, so a
// new kind of column gets a mapping here before it reaches Athena.
func athenaColumns(t *testing.T, row any) []column {
	t.Helper()
	typ := reflect.TypeOf(row)
	var cols []column
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag, ok := f.Tag.Lookup("parquet")
		if !ok || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		var athena string
		switch {
		case ft == reflect.TypeFor[time.Time]():
			if !strings.Contains(opts, "timestamp(millisecond)") {
				t.Fatalf("%s.%s: time.Time without timestamp(millisecond) has no agreed Athena type", typ.Name(), f.Name)
			}
			athena = "timestamp"
		case ft.Kind() == reflect.String:
			athena = "string"
		case ft.Kind() == reflect.Bool:
			athena = "boolean"
		case ft.Kind() == reflect.Int32:
			athena = "int"
		case ft.Kind() == reflect.Int64:
			athena = "bigint"
		default:
			t.Fatalf("%s.%s: no Athena type for Go type %s", typ.Name(), f.Name, f.Type)
		}
		cols = append(cols, column{name, athena})
	}
	return cols
}

// datasets pairs each Glue table with the output row it stores.
var datasets = []struct {
	table, dataset string
	row            any
}{
	{"FindingsTable", output.FindingsDataset, output.Finding{}},
	{"CoverageTable", output.CoverageDataset, output.Coverage{}},
	{"RunsTable", output.RunsDataset, output.Run{}},
	{"UsageTable", output.UsageDataset, output.Usage{}},
}

// TestGlueTablesMatchOutput checks each Glue table against the dataset
// output writes: the same columns with the same Athena types in the same
// order, Parquet SerDe, dt as the only (string) partition, and a projected
// partition location that is exactly where output.Key puts a day's files.
func TestGlueTablesMatchOutput(t *testing.T) {
	t.Parallel()
	tmpl := render(t, "job.yaml", nil)
	tables := tmpl.GetAllGlueTableResources()
	if len(tables) != len(datasets) {
		t.Errorf("%d Glue tables, want %d", len(tables), len(datasets))
	}
	root := "s3://${FindingsBucket}/ecsaudit/" // the task's --output
	for _, ds := range datasets {
		t.Run(ds.dataset, func(t *testing.T) {
			t.Parallel()
			table, ok := tables[ds.table]
			if !ok {
				t.Fatalf("no Glue table %s", ds.table)
			}
			in := table.TableInput
			if in == nil || in.StorageDescriptor == nil {
				t.Fatal("no TableInput.StorageDescriptor")
			}
			if deref(in.Name) != ds.dataset || table.DatabaseName != "${GlueDatabase}" {
				t.Errorf("table %s.%s, want ${GlueDatabase}.%s", table.DatabaseName, deref(in.Name), ds.dataset)
			}
			if got, want := glueColumns(in.StorageDescriptor.Columns), athenaColumns(t, ds.row); !jsonEqual(got, want) {
				t.Errorf("columns =\n%v\nwant (from %T)\n%v", got, ds.row, want)
			}
			if got := glueColumns(in.PartitionKeys); !jsonEqual(got, []column{{"dt", "string"}}) {
				t.Errorf("partition keys = %v, want dt string", got)
			}
			sd := in.StorageDescriptor
			if sd.SerdeInfo == nil || deref(sd.SerdeInfo.SerializationLibrary) != "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe" ||
				deref(sd.InputFormat) != "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat" ||
				deref(sd.OutputFormat) != "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat" {
				t.Errorf("storage %+v / %+v, want the Parquet SerDe and formats", sd.SerdeInfo, sd)
			}
			if got, want := deref(sd.Location), root+ds.dataset+"/"; got != want {
				t.Errorf("Location = %q, want %q", got, want)
			}

			params, ok := in.Parameters.(map[string]any)
			if !ok {
				t.Fatalf("Parameters = %#v", in.Parameters)
			}
			wantParams := map[string]any{
				"classification":              "parquet",
				"EXTERNAL":                    "TRUE",
				"projection.enabled":          "true",
				"projection.dt.type":          "date",
				"projection.dt.format":        "yyyy-MM-dd",
				"projection.dt.range":         "2024-01-01,NOW",
				"projection.dt.interval":      "1",
				"projection.dt.interval.unit": "DAYS",
				"storage.location.template":   root + ds.dataset + "/dt=${dt}/",
			}
			if !jsonEqual(params, wantParams) {
				t.Errorf("table parameters =\n%s\nwant\n%s", mustJSON(params), mustJSON(wantParams))
			}

			// The projected location of a day is the directory output.Key
			// writes that day's files to.
			day := time.Date(2025, 3, 7, 23, 30, 0, 0, time.UTC)
			template, _ := params["storage.location.template"].(string)
			projected := strings.ReplaceAll(template, "${dt}", day.Format("2006-01-02"))
			if written := root + path.Dir(output.Key(ds.dataset, day, "run")) + "/"; projected != written {
				t.Errorf("Athena reads %s for %s, output writes to %s", projected, day.Format(time.DateOnly), written)
			}
		})
	}
}

// TestAthenaColumnsMapping pins the Go-to-Athena mapping on a struct with
// every kind of column output uses.
func TestAthenaColumnsMapping(t *testing.T) {
	t.Parallel()
	type row struct {
		S  string    `parquet:"s"`
		PS *string   `parquet:"ps,optional"`
		B  bool      `parquet:"b"`
		PB *bool     `parquet:"pb,optional"`
		I  int32     `parquet:"i"`
		L  int64     `parquet:"l"`
		T  time.Time `parquet:"t,timestamp(millisecond)"`
		PT time.Time `parquet:"pt,timestamp(millisecond),optional"`
		X  string    // no tag: not a column
	}
	got := fmt.Sprint(athenaColumns(t, row{}))
	if want := "[{s string} {ps string} {b boolean} {pb boolean} {i int} {l bigint} {t timestamp} {pt timestamp}]"; got != want {
		t.Errorf("athenaColumns = %s, want %s", got, want)
	}
}

func glueColumns(cols []glue.Table_Column) []column {
	out := make([]column, 0, len(cols))
	for _, c := range cols {
		out = append(out, column{c.Name, deref(c.Type)})
	}
	return out
}
