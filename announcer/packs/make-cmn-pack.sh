#!/usr/bin/env bash
# Makes the default Mandarin clip pack (packs/cmn) with Debian's espeak-ng
# (voice cmn-latn-pinyin: Mandarin phonemes for characters) and sox: every
# clip 16 kHz, mono, 16-bit, its silence trimmed; the chime (叮咚) two sine
# tones. A hall's own recordings replace this pack by pointing the announcer
# at another folder with the same manifest (pack.toml).
#   apt-get install espeak-ng sox && announcer/packs/make-cmn-pack.sh
set -euo pipefail
out="$(dirname "$0")/cmn"
mkdir -p "$out"
rate=16000
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { # say FILE TEXT
    espeak-ng -v cmn-latn-pinyin -s 150 -w "$tmp/raw.wav" "$2"
    sox "$tmp/raw.wav" -r $rate -c 1 -b 16 "$out/$1" \
        silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse gain -n -3
}

{
    echo "# 普通话语音包 / the default Mandarin clip pack: made by make-cmn-pack.sh"
    echo "# with espeak-ng (cmn-latn-pinyin) and sox. Text → clip file."
    echo "name = \"cmn-espeak\""
    echo "sample_rate = $rate"
    echo
    echo "[clips]"
} > "$tmp/pack.toml"
clip() { # clip TEXT FILE
    say "$2" "$1"
    echo "\"$1\" = \"$2\"" >> "$tmp/pack.toml"
}

# 叮咚: E5 then C5, each fading out.
sox -n -r $rate -c 1 -b 16 "$tmp/ding.wav" synth 0.45 sine 659.25 fade q 0.01 0.45 0.35 gain -6
sox -n -r $rate -c 1 -b 16 "$tmp/dong.wav" synth 0.7 sine 523.25 fade q 0.01 0.7 0.55 gain -6
sox "$tmp/ding.wav" "$tmp/dong.wav" "$out/chime.wav"
echo "\"叮咚\" = \"chime.wav\"" >> "$tmp/pack.toml"

clip 请 qing.wav
clip 号 hao.wav
clip 到 dao.wav
clip 窗口 chuangkou.wav
clip 办理 banli.wav
clip 再次 zaici.wav
i=0
for d in 零 一 二 三 四 五 六 七 八 九; do clip "$d" "digit-$i.wav"; i=$((i + 1)); done
clip 十 shi.wav
clip 百 bai.wav
clip 千 qian.wav
for l in A B C D E F G H I J K L M N O P Q R S T U V W X Y Z; do clip "$l" "letter-$l.wav"; done
cp "$tmp/pack.toml" "$out/pack.toml"
echo "wrote $(ls "$out" | wc -l) files to $out"
