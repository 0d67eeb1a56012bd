# pandas, compiled into the guest (guest/packages/pandas): a CSV read, a
# groupby and describe, dates and time zones, and one call into each area of
# its extension modules, with results that do not depend on the platform.
import sys

import pandas as pd

print(pd.__version__, "numpy" in sys.modules)
print(pd._libs.lib.__spec__.origin, pd._libs.window.aggregations.__spec__.origin)

with open("/tmp/sales.csv", "w") as f:
    f.write("city,month,units,price\n"
            "Oslo,2024-01-31,3,9.5\n"
            "Lima,2024-01-31,5,4.0\n"
            "Oslo,2024-02-29,7,9.0\n"
            "Lima,2024-02-29,1,4.5\n"
            "Pune,2024-02-29,4,2.25\n")
df = pd.read_csv("/tmp/sales.csv", parse_dates=["month"])   # C tokenizer, parsers
df["revenue"] = df["units"] * df["price"]
print(df.shape, list(df.columns))
print(df.groupby("city")["revenue"].sum())                 # groupby, hashtable
print(df.groupby("city").agg(n=("units", "size"), mean=("price", "mean")))
print(df["units"].describe())                               # algos (quantiles)
print(df.pivot_table(index="city", columns=df["month"].dt.month, values="units", fill_value=0))

ts = pd.Timestamp("2024-03-10 01:30", tz="America/New_York")   # tslibs, tzdata
print(ts, ts + pd.Timedelta(hours=1), ts.tz_convert("UTC"))
print(pd.date_range("2024-01-29", periods=4, freq="B").strftime("%a %d").tolist())
print(pd.to_datetime("March 3, 2024 14:05"))                    # python-dateutil
print(pd.Period("2024Q1").end_time.date(), pd.offsets.MonthEnd().rollforward(pd.Timestamp("2024-02-10")))

s = pd.Series([1.0, 2.0, None, 4.0, 8.0])
print(s.rolling(2).mean().tolist())                        # window aggregations (C++)
print(s.isna().sum(), s.fillna(0).cumsum().tolist())       # missing, algos
print(pd.cut([1, 5, 9], bins=[0, 4, 8, 12]).astype(str).tolist())   # interval
print(pd.merge(df[["city"]].drop_duplicates(), pd.DataFrame({"city": ["Lima", "Oslo"], "code": [51, 47]}),
               how="left").to_dict("list"))                # join
print(pd.Series(pd.arrays.SparseArray([0, 0, 3, 0])).sparse.density)   # sparse
print(pd.util.hash_pandas_object(pd.Series(["a", "b"]), index=False).tolist())   # hashing
js = df.head(2).to_json(orient="records", date_format="iso")   # _ujson
print(js)
print(pd.read_json(__import__("io").StringIO(js)).shape)
print(df.set_index(["city", "month"])["units"].unstack().shape)   # reshape
print(df.to_csv(index=False).splitlines()[1])              # writers
try:
    pd.Timestamp("not a date")
except ValueError as e:
    print("ValueError:", type(e).__name__)
