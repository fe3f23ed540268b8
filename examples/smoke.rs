fn main() {
    let dir = std::env::temp_dir().join("tl-smoke");
    let _ = std::fs::remove_dir_all(&dir);
    let g = tachylog::Builder::new().dir(&dir).init().unwrap();
    let hs: Vec<_> = (0..4)
        .map(|t| {
            std::thread::Builder::new()
                .name(format!("w{t}"))
                .spawn(move || {
                    for i in 0..1000u64 {
                        tachylog::info!(k = i, "thread {} item {i} x={:.2}", t, 1.5f64 * i as f64);
                    }
                })
                .unwrap()
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
    tachylog::flush();
    println!("{:?}", tachylog::stats());
    drop(g);
    let mut n = 0;
    for e in tachylog::reader::Reader::open([&dir]).unwrap() {
        match e {
            Ok(tachylog::reader::Event::Record(r)) => {
                n += 1;
                if n % 997 == 1 {
                    println!(
                        "{} {:?} {} {:?}",
                        tachylog::reader::rfc3339(r.ts_unix_ns),
                        r.thread.name,
                        r.message(),
                        r.fields()
                    );
                }
            }
            other => println!("{other:?}"),
        }
    }
    println!("records {n}");
}
