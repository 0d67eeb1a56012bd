# A plugin as an agent might write it: it reads the mounted catalog, asks the
# host for prices and a currency conversion, and prints an order summary.
import csv
from pycell_host import price_of, convert

total_usd = 0.0
with open("/catalog/items.csv", newline="") as f:
    for row in csv.DictReader(f):
        unit = price_of(sku=row["sku"])
        line = unit * int(row["quantity"])
        total_usd += line
        print(f"{row['name']:<10} {row['quantity']:>3} x {unit:6.2f} = {line:7.2f} USD")

eur = convert(amount=total_usd, to="EUR")
print(f"total: {total_usd:.2f} USD = {eur['amount']:.2f} EUR (rate {eur['rate']})")
