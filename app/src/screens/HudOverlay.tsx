/** Boxes, track ids, the ego zone and the lead vehicle over the preview, in the frame's pixels. */
import Svg, { Polygon, Rect, Text as SvgText } from 'react-native-svg';
import { StyleSheet } from 'react-native';

import type { HudFrame, HudSettings } from '../hud';

const ZONE = '#3ddc84';
const WARN = '#ff2d2d';
const LEAD = '#ffd400';

/** Where a `width`×`height` frame lands when fitted ("contain") into the view, as the preview is. */
export function fitRect(width: number, height: number, viewWidth: number, viewHeight: number) {
  const scale = Math.min(viewWidth / width, viewHeight / height);
  return { left: (viewWidth - width * scale) / 2, top: (viewHeight - height * scale) / 2, width: width * scale, height: height * scale };
}

export function HudOverlay(props: { frame: HudFrame; names: readonly string[]; settings: HudSettings; view: { width: number; height: number } }) {
  const { frame, names, settings, view } = props;
  const { width, height, lead } = frame;
  const zone = settings.egoZone.map(([x, y]) => `${x * width},${y * height}`).join(' ');
  const stroke = Math.max(2, width / 320);
  const font = Math.max(12, width / 40);
  return (
    <Svg style={[styles.svg, fitRect(width, height, view.width, view.height)]} viewBox={`0 0 ${width} ${height}`}>
      <Polygon points={zone} fill={lead?.warning ? WARN : ZONE} fillOpacity={0.18} stroke={ZONE} strokeWidth={stroke / 2} />
      {frame.detections.map((d, i) => {
        const [x1, y1, x2, y2] = d.box;
        const isLead = lead?.index === i;
        const color = isLead ? (lead!.warning ? WARN : LEAD) : '#ffffff';
        const label = `${names[d.classId] ?? d.classId} #${d.trackId}${isLead && lead!.distanceM !== null ? ` ${lead!.distanceM.toFixed(0)} m` : ''}`;
        // The lead's label goes under its box, clear of the labels of the traffic around it.
        const labelY = isLead ? Math.min(height - 2, y2 + font) : Math.max(font, y1 - 4);
        return [
          <Rect key={`b${i}`} x={x1} y={y1} width={x2 - x1} height={y2 - y1} fill="none" stroke="#000" strokeWidth={stroke * 2.2} />,
          <Rect key={`c${i}`} x={x1} y={y1} width={x2 - x1} height={y2 - y1} fill="none" stroke={color} strokeWidth={isLead ? stroke * 1.6 : stroke} />,
          <SvgText key={`s${i}`} x={x1 + 2} y={labelY} fill="#000" stroke="#000" strokeWidth={font / 5} fontSize={font} fontWeight="bold">
            {label}
          </SvgText>,
          <SvgText key={`t${i}`} x={x1 + 2} y={labelY} fill={color} fontSize={font} fontWeight="bold">
            {label}
          </SvgText>,
        ];
      })}
    </Svg>
  );
}

const styles = StyleSheet.create({ svg: { position: 'absolute' } });
